"""Reading a built dataset folder, and turning its pieces into training sequences."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from tunesmith import ops
from tunesmith.captions import caption
from tunesmith.data.metadata import MODES, estimate_key_from_histogram, key_correlations
from tunesmith.errors import BadInputError
from tunesmith.fileio import read_jsonl
from tunesmith.tokenizer import Controls, Tokenizer


@dataclass
class Piece:
    meta: dict
    ids: np.ndarray  # REMI ids (uint16)


class Dataset:
    """A dataset folder written by `build_dataset`."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not (self.folder / "manifest.json").is_file():
            raise BadInputError(self.folder, "not a tunesmith dataset (no manifest.json); build one with `tunesmith data build`")
        self.manifest = json.loads((self.folder / "manifest.json").read_text())
        self.records = read_jsonl(self.folder / "pieces.jsonl")
        self._tokens: dict[str, np.ndarray] = {}

    def tokenizer(self) -> Tokenizer:
        return Tokenizer.load(self.folder / "tokenizer")

    def pieces(self, split: str) -> list[Piece]:
        if split not in self._tokens:
            self._tokens[split] = np.load(self.folder / "tokens" / f"{split}.npy", mmap_mode="r")
        flat = self._tokens[split]
        return [Piece(r, np.asarray(flat[r["offset"]: r["offset"] + r["n_tokens"]]))
                for r in self.records if r["split"] == split]


@dataclass(frozen=True)
class SequenceOptions:
    max_len: int  # tokens per training sequence, controls included
    transpose: int = 6  # random pitch shift in [-transpose, +transpose] semitones (0 = off)
    control_dropout: float = 0.25  # chance to leave out each control family, so every control is optional
    text: bool = False  # the model reads a caption's embedding (ModelConfig.text_slots > 0)
    text_dropout: float = 0.3  # chance of a sequence with no caption, so the prompt is optional too
    caption_dropout: float = 0.3  # chance of leaving each attribute out of the caption (independently of the controls)
    window_key: bool = True  # label a window with the key its own notes are in, not always the piece's key


# A window is labelled with its piece's key while that key fits the window's notes nearly as well as the
# best key (Krumhansl-Schmuckler correlation, as music21 computes it); windows with fewer than
# WINDOW_KEY_MIN_BEATS beats of notes keep the piece's key.
WINDOW_KEY_TOLERANCE = 0.05
WINDOW_KEY_MIN_BEATS = 8.0


def _drop(value, p: float, rng: random.Random):
    return None if rng.random() < p else value


def window_key(music: np.ndarray, tok: Tokenizer, piece_key: str | None) -> str | None:
    """The key of a window of a piece: the piece's key where it fits the window, else the window's own.

    A piece's key is measured over the whole piece, but a model reads windows of it, and a window of a
    modulating piece is often in another key (random 8-bar windows of piano-midi.de pieces are in their
    piece's key about half the time). Pieces without a key stay without one.
    """
    if not piece_key:
        return None
    hist = ops.pitch_class_durations(music, *tok.note_tables)
    if hist.sum() < WINDOW_KEY_MIN_BEATS:
        return piece_key
    corr = key_correlations(hist)
    pc, mode = ops.parse_key(piece_key)
    if corr.max() - corr[MODES.index(mode), pc] <= WINDOW_KEY_TOLERANCE:
        return piece_key
    return ops.normalize_key(estimate_key_from_histogram(hist))


def training_sequence(piece: Piece, tok: Tokenizer, opts: SequenceOptions,
                      rng: random.Random) -> tuple[list[int], str | None]:
    """BOS (+ Text placeholders) + (possibly dropped) controls + a window of the piece starting at a bar
    (+ EOS at the end), and the caption whose embedding fills the placeholders (None: no caption).

    Transposition moves the Pitch tokens (never drums) and the Key control together, within MIDI range.
    """
    ids = piece.ids.astype(np.int64)
    controls = Controls.from_meta(piece.meta)
    if opts.transpose:
        lo, hi = tok.pitch_id_range
        shift = rng.choice(ops.allowed_shifts(ids, lo, hi, opts.transpose))
        if shift:
            ids = ops.shift_tokens_in_range(ids, lo, hi, shift)
            if controls.key:
                controls = replace(controls, key=ops.transpose_key(controls.key, shift))
    room = opts.max_len - len(tok.control_ids(controls, text=opts.text))  # the most room: no control dropped
    music = np.append(ids, tok.eos_id)
    if len(music) > room:
        bars = np.flatnonzero(ids == tok.bar_id)
        starts = bars[bars <= len(music) - room] if len(bars) else np.array([0])
        start = int(rng.choice(list(starts))) if len(starts) else rng.randrange(len(music) - room + 1)
        music = music[start: start + room]
        if opts.window_key:
            controls = replace(controls, key=window_key(music, tok, controls.key))
    text = None
    if opts.text and rng.random() >= opts.text_dropout:
        text = caption(controls, rng, opts.caption_dropout)
    p = opts.control_dropout
    controls = Controls(
        collection=_drop(controls.collection, p, rng),
        composer=_drop(controls.composer, p, rng),
        genre=_drop(controls.genre, p, rng),
        key=_drop(controls.key, p, rng),
        meter=_drop(controls.meter, p, rng),
        tempo=_drop(controls.tempo, p, rng),
        instruments=_drop(controls.instruments, p, rng),
    )
    prefix = tok.control_ids(controls, text=text is not None)
    return prefix + music.tolist(), text


def collate(seqs: list[list[int]], pad_id: int, prefix_lens: list[int] | None = None,
            text_embeds: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Right-padded batch. Padding and the control prefix get label -100: the loss is on music tokens.
    `text_embeds` (B, text_dim) rides along for models that read a prompt (rows without one: zeros)."""
    n = max(len(s) for s in seqs)
    input_ids = torch.full((len(seqs), n), pad_id, dtype=torch.long)
    labels = torch.full((len(seqs), n), -100, dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, s in enumerate(seqs):
        t = torch.tensor(s, dtype=torch.long)
        input_ids[i, : len(s)] = t
        labels[i, : len(s)] = t
        labels[i, : prefix_lens[i] if prefix_lens else 0] = -100
        mask[i, : len(s)] = 1
    batch = {"input_ids": input_ids, "labels": labels, "attention_mask": mask}
    if text_embeds is not None:
        batch["text_embeds"] = text_embeds
    return batch
