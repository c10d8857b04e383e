"""MidiTok REMI music tokens plus tunesmith's control tokens.

A sequence is ``BOS [controls...] music... EOS`` where the controls are piece-level attributes:

    Collection_bach Composer_bach Genre_chorale Key_A_minor Meter_4/4 TempoBin_4 Instr_52

Music ids are MidiTok's own (0 .. music_vocab_size-1); control ids follow them, so a dataset of
music ids stays valid whatever labels a model later learns. Any control may be absent.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Iterable, Sequence

import miditok
import numpy as np
import symusic

from tunesmith import ops
from tunesmith.errors import BadInputError, TunesmithError
from tunesmith.fileio import write_json

# The music vocabulary: REMI with bars, positions, tempos, time signatures and one program token per note.
REMI_PARAMS = dict(
    pitch_range=(21, 109),
    beat_res={(0, 4): 8, (4, 12): 4},
    num_velocities=16,
    special_tokens=["PAD", "BOS", "EOS"],
    use_tempos=True,
    num_tempos=32,
    tempo_range=(40, 250),
    log_tempos=True,
    use_time_signatures=True,
    # pickup bars written as 1/8 or 1/16 (Essen), long mensural bars (4/1, 6/2: Palestrina, old German songs)
    time_signature_range={16: [1, 2, 3, 4, 5, 6, 9, 12], 8: list(range(1, 13)), 4: list(range(1, 13)),
                          2: list(range(1, 7)), 1: [2, 3, 4]},
    use_programs=True,
    one_token_stream_for_programs=True,
    use_pitchdrum_tokens=True,
)

DRUMS = -1  # MidiTok's program number for drums
CONTROL_FAMILIES = ("Collection", "Composer", "Genre", "Key", "Meter", "TempoBin", "Instr")
TEXT_SLOTS = 2  # placeholder tokens Text_0, Text_1 whose embeddings the model replaces with the prompt's


@dataclass(frozen=True)
class Controls:
    """Piece-level attributes: what a piece has, or what a user asks for. None = unspecified."""

    collection: str | None = None  # corpus collection / folder, e.g. "bach", "essenFolksong", "pianomidi"
    composer: str | None = None  # lowercase slug, e.g. "bach", "chopin", "trad"
    genre: str | None = None  # lowercase, e.g. "chorale", "reel", "folk song"
    key: str | None = None  # canonical key name, e.g. "D minor"
    meter: str | None = None  # time signature, e.g. "3/4"
    tempo: float | None = None  # quarter-note BPM
    instruments: tuple[int, ...] | None = None  # GM programs (0-127), -1 for drums

    @classmethod
    def from_meta(cls, meta: dict) -> "Controls":
        """The controls a dataset piece carries (its metadata record as a dict)."""
        sigs = meta.get("time_signatures") or []
        return cls(
            collection=meta.get("collection"),
            composer=meta.get("composer"),
            genre=meta.get("genre"),
            key=ops.normalize_key(meta["key"]) if meta.get("key") else None,
            meter=sigs[0] if sigs else None,
            tempo=meta.get("tempo"),
            instruments=tuple(sorted(meta["programs"])) if meta.get("programs") else None,
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["instruments"] is not None:
            d["instruments"] = list(d["instruments"])
        return d



def style_tally(tables: dict[str, dict[str, dict[str, int]]], controls: "Controls",
                order: tuple[str, ...] = ("composer", "collection", "genre"),
                min_pieces: int = 1) -> tuple[str, str, dict[str, int]] | None:
    """(family, label, tally) of the first style family in `order` that `controls` ask for and that
    `tables` (ControlVocab.instrumentation or .meter_tempo) tallies over at least `min_pieces` pieces."""
    for family in order:
        label = getattr(controls, family)
        tally = tables.get(family, {}).get(label) if label else None
        if tally and sum(tally.values()) >= min_pieces:
            return family, label, tally
    return None


@dataclass
class ControlVocab:
    """The labels a model knows, learned from its training data."""

    collections: list[str] = field(default_factory=list)
    composers: list[str] = field(default_factory=list)
    genres: list[str] = field(default_factory=list)
    # what each known collection / composer / genre was played on in training: {"collection": {label:
    # {"0": pieces, "40,41,42": pieces, ...}}, "composer": {...}, "genre": {...}}; keys are sorted GM programs
    instrumentation: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    # the same table for each label's opening meter and tempo ("3/4 120": pieces): what generation draws a
    # meter or tempo not asked from (typical.py)
    meter_tempo: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    # the same again per label and instrumentation ({"composer": {"mozart|0": {"4/4 120": pieces}}}): asked
    # "a piano piece in the style of Mozart", the tempo of one of his piano pieces, not of a quartet's slow movement
    meter_tempo_on: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, metas: Iterable[dict], min_count: int = 1) -> "ControlVocab":
        metas = list(metas)
        counts: dict[str, dict[str, int]] = {"collection": {}, "composer": {}, "genre": {}}
        for meta in metas:
            for name, table in counts.items():
                if meta.get(name):
                    table[meta[name]] = table.get(meta[name], 0) + 1
        labels = {n: sorted(k for k, c in t.items() if c >= min_count) for n, t in counts.items()}
        return cls(labels["collection"], labels["composer"], labels["genre"],
                   instrumentation=_tally(metas, labels, _programs), meter_tempo=_tally(metas, labels, _meter_tempo),
                   meter_tempo_on=_tally(metas, labels, _meter_tempo, on_programs=True))


def _programs(meta: dict) -> str:
    """A piece's GM programs as one key, "0,52" ("" when it has none)."""
    return ",".join(str(p) for p in sorted(meta.get("programs") or []))


def _meter_tempo(meta: dict) -> str:
    """A piece's opening meter and tempo as one key, "3/4 120" ("" when it lacks either)."""
    sigs = meta.get("time_signatures") or []
    return f"{sigs[0]} {round(meta['tempo'])}" if sigs and meta.get("tempo") else ""


def played_on(label: str, programs: Sequence[int]) -> str:
    """The row of a label's pieces played on exactly `programs` in a per-instrumentation table, "mozart|0"."""
    return f"{label}|{','.join(str(p) for p in sorted(programs))}"


def _tally(metas: list[dict], labels: dict[str, list[str]], value,
           on_programs: bool = False) -> dict[str, dict[str, dict[str, int]]]:
    """{family: {label: {value: pieces}}} for the labels kept, counting one per-piece `value(meta)` ("" = none);
    with `on_programs`, one row per label and instrumentation ("mozart|0", see `played_on`)."""
    table: dict[str, dict[str, dict[str, int]]] = {n: {} for n in labels}
    known = {n: set(ls) for n, ls in labels.items()}
    for meta in metas:
        v = value(meta)
        for name, rows in table.items():
            if v and meta.get(name) in known[name]:
                label = played_on(meta[name], meta.get("programs") or []) if on_programs else meta[name]
                row = rows.setdefault(label, {})
                row[v] = row.get(v, 0) + 1
    return table


def control_token(family: str, value: object) -> str:
    """The token naming one control value, e.g. ('Key', 'D minor') -> 'Key_D_minor'."""
    return f"{family}_{str(value).replace(' ', '_')}"


class Tokenizer:
    """REMI music ids (MidiTok) + control ids; one object encodes, decodes and knows the grammar's token types."""

    def __init__(self, controls: ControlVocab | None = None, remi: miditok.REMI | None = None):
        self.remi = remi or miditok.REMI(miditok.TokenizerConfig(**REMI_PARAMS))
        self.controls = controls or ControlVocab()
        self.music_vocab_size = len(self.remi)
        self.meters = [t.split("_", 1)[1] for t in self.remi.vocab if t.startswith("TimeSig_")]
        control_tokens = (
            [control_token("Collection", c) for c in self.controls.collections]
            + [control_token("Composer", c) for c in self.controls.composers]
            + [control_token("Genre", g) for g in self.controls.genres]
            + [control_token("Key", k) for k in ops.all_keys()]
            + [control_token("Meter", m) for m in self.meters]
            + [control_token("TempoBin", i) for i in range(len(ops.TEMPO_BIN_EDGES) + 1)]
            + [control_token("Instr", p) for p in range(-1, 128)]
            + [control_token("Text", i) for i in range(TEXT_SLOTS)]  # last: tunesmith.model relies on it
        )
        self.vocab: dict[str, int] = dict(self.remi.vocab)
        for i, tok in enumerate(control_tokens):
            self.vocab[tok] = self.music_vocab_size + i
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        # the type of every id: 'Bar', 'Position', 'Pitch', ... for music, the family name for controls
        self.type_of = [self.id_to_token[i].split("_")[0] for i in range(len(self.vocab))]
        self.pad_id, self.bos_id, self.eos_id = (self.vocab[t] for t in ("PAD_None", "BOS_None", "EOS_None"))
        self.bar_id = self.vocab["Bar_None"]

    # ---- vocabulary facts ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.vocab)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def ids_of_type(self, prefix: str) -> list[int]:
        """Ids of every token of one type (e.g. 'Pitch', 'TimeSig', 'Key')."""
        return [i for i, t in enumerate(self.type_of) if t == prefix]

    def value_of(self, token_id: int) -> str:
        return self.id_to_token[token_id].split("_", 1)[1]

    @cached_property
    def note_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """(pitch_of, beats_of) indexed by id: the MIDI pitch of each Pitch id (-1 elsewhere) and the
        length in beats of each Duration id (0 elsewhere), for `ops.pitch_class_durations`."""
        pitch_of = np.full(len(self.vocab), -1, dtype=np.int64)
        beats_of = np.zeros(len(self.vocab), dtype=np.float64)
        for i, t in self.id_to_token.items():
            kind, _, value = t.partition("_")
            if kind == "Pitch":
                pitch_of[i] = int(value)
            elif kind == "Duration":
                whole, part, res = (int(v) for v in value.split("."))
                beats_of[i] = whole + part / res
        return pitch_of, beats_of

    @property
    def pitch_id_range(self) -> tuple[int, int]:
        """[lo, hi) of the (contiguous) Pitch ids, used for transposition."""
        ids = sorted(i for t, i in self.vocab.items() if t.startswith("Pitch_"))
        assert ids[-1] - ids[0] + 1 == len(ids), "Pitch ids must be contiguous"
        return ids[0], ids[-1] + 1

    # ---- controls ----------------------------------------------------------------------------
    @property
    def text_ids(self) -> list[int]:
        """The Text_i placeholder ids that follow BOS when a prompt's embedding conditions the model."""
        return [self.vocab[control_token("Text", i)] for i in range(TEXT_SLOTS)]

    def control_ids(self, controls: Controls, strict: bool = False, text: bool = False) -> list[int]:
        """BOS (+ the Text placeholders when `text`) followed by the control tokens for `controls`.

        Labels the vocabulary lacks are skipped, or with strict=True raise a TunesmithError that
        names what the model does know.
        """
        ids = [self.bos_id] + (self.text_ids if text else [])
        wanted: list[tuple[str, object]] = [
            ("Collection", controls.collection),
            ("Composer", controls.composer),
            ("Genre", controls.genre),
            ("Key", ops.normalize_key(controls.key) if controls.key else None),
            ("Meter", controls.meter),
            ("TempoBin", ops.tempo_bin(controls.tempo) if controls.tempo else None),
        ]
        wanted += [("Instr", p) for p in sorted(set(controls.instruments or ()))]
        for family, value in wanted:
            if value is None:
                continue
            tok = control_token(family, value)
            if tok in self.vocab:
                ids.append(self.vocab[tok])
            elif strict:
                known = sorted(self.value_of(i) for i in self.ids_of_type(family))
                raise TunesmithError(f"unknown {family.lower()} {value!r}; this model knows: {', '.join(known)}")
        return ids

    def is_control(self, token_id: int) -> bool:
        return token_id >= self.music_vocab_size

    # ---- music -----------------------------------------------------------------------------
    def encode_music(self, score: symusic.Score) -> np.ndarray:
        """REMI ids of a score (no BOS/EOS), as uint16."""
        seq = self.remi.encode(score)
        if isinstance(seq, list):
            seq = seq[0]
        return np.asarray(seq.ids, dtype=np.uint16)

    def music_part(self, ids: Sequence[int]) -> list[int]:
        """The music ids of a full sequence: controls and BOS/PAD dropped, cut at the first EOS."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i in (self.bos_id, self.pad_id) or self.is_control(i):
                continue
            out.append(i)
        return out

    def decode(self, ids: Sequence[int]) -> symusic.Score:
        """A symusic Score from a full or music-only sequence; TunesmithError when it holds no music."""
        music = self.music_part(ids)
        if not music:
            raise TunesmithError("the sequence holds no music tokens")
        try:
            score = self.remi.decode(music)
        except Exception as e:  # MidiTok raises assorted errors on ungrammatical input
            raise TunesmithError(f"the sequence does not decode to MIDI: {type(e).__name__}: {e}") from e
        return score

    def tokens(self, ids: Sequence[int]) -> list[str]:
        return [self.id_to_token[int(i)] for i in ids]

    # ---- persistence -----------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.remi.save(folder / "remi.json")
        write_json(folder / "controls.json", asdict(self.controls))

    @classmethod
    def load(cls, folder: str | Path) -> "Tokenizer":
        folder = Path(folder)
        for name in ("remi.json", "controls.json"):
            if not (folder / name).is_file():
                raise BadInputError(folder / name, "missing tokenizer file")
        remi = miditok.REMI(params=folder / "remi.json")
        raw = json.loads((folder / "controls.json").read_text())  # tables a later version added are skipped
        controls = ControlVocab(**{k: v for k, v in raw.items() if k in {f.name for f in fields(ControlVocab)}})
        return cls(controls, remi)
