"""`tunesmith evaluate model`: teacher-forced negative log-likelihood of a model on a dataset split.

Every piece is scored whole: BOS + its controls (all given, as in training's validation) + its music
tokens + EOS, the loss on the music tokens and EOS only (the controls are conditions, not predictions).
A piece longer than the context is scored with sliding windows: each window repeats the controls and
keeps `context - stride` tokens of the music before the ones it scores, so every token is scored once,
with at least that much context (the first window's tokens excepted).

Figures: nats per token (the training loss), nats per note and bits per note (per-note figures compare
models whose tokenizations differ), overall and per collection and composer.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from tqdm import tqdm

from tunesmith.data.dataset import Dataset, Piece, collate
from tunesmith.errors import TunesmithError
from tunesmith.tokenizer import Controls, Tokenizer

LN2 = math.log(2)


@dataclass
class PieceNLL:
    meta: dict
    nll: float  # summed over the piece's scored tokens, nats
    tokens: int  # scored tokens (music + EOS)
    notes: int  # notes in the piece (Pitch / PitchDrum tokens)


def windows(prefix: list[int], music: list[int], max_len: int, stride: int | None = None) -> Iterator[tuple[list[int], int]]:
    """(sequence, index of its first scored token) for each window over `music` after `prefix`."""
    for start, end, scored in window_spans(len(prefix), len(music), max_len, stride):
        yield prefix + music[start:end], len(prefix) + scored - start


def window_spans(prefix_len: int, n: int, max_len: int, stride: int | None = None) -> Iterator[tuple[int, int, int]]:
    """(start, end, first scored index) in a music sequence of n tokens for each window of at most
    max_len tokens after a prefix: the first window scores everything it holds, each later one the
    `stride` tokens after what was scored, seen with as much earlier music as fits."""
    room = max_len - prefix_len
    if room < 2:
        raise TunesmithError(f"the controls ({prefix_len} tokens) leave no room in a {max_len}-token context")
    stride = min(stride or room // 2, room)
    end = min(room, n)
    yield 0, end, 0
    scored = end
    while scored < n:
        end = min(scored + stride, n)
        yield end - room, end, scored
        scored = end


def autocast(device: torch.device, precision: str):
    """bf16 autocast for 'bf16' (and for 'auto' where supported, CPUs included), else nothing."""
    if precision == "fp32":
        return nullcontext()
    if device.type == "cuda" and precision == "auto" and not torch.cuda.is_bf16_supported():
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


@torch.no_grad()
def sequence_nll(model, batch: dict[str, torch.Tensor], precision: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sequence summed NLL (nats) and count of the labelled tokens of a collated batch."""
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    inputs = {k: v for k, v in batch.items() if k != "labels"}  # a model's extra inputs ride along
    with autocast(device, precision):
        logits = model(**inputs).logits
    labels = batch["labels"][:, 1:]
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].float().transpose(1, 2), labels,
                                             ignore_index=-100, reduction="none")
    return loss.sum(dim=1).cpu(), (labels != -100).sum(dim=1).cpu()


def sequences_nll(model, items: list[tuple[list[int], list[int]]], max_len: int, pad_id: int,
                  stride: int | None = None, batch_size: int = 8, precision: str = "auto",
                  progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Summed NLL (nats) and scored-token count of each (prefix, tokens) item, with sliding windows."""
    model.eval()
    jobs = [(k, seq, start) for k, (prefix, music) in enumerate(items)
            for seq, start in windows(prefix, music, max_len, stride)]
    jobs.sort(key=lambda j: len(j[1]))  # similar lengths together: little padding
    nll, count = np.zeros(len(items)), np.zeros(len(items), dtype=np.int64)
    bar = tqdm(total=len(jobs), desc="scoring", unit="window", disable=not progress)
    for i in range(0, len(jobs), batch_size):
        chunk = jobs[i: i + batch_size]
        sums, counts = sequence_nll(model, collate([j[1] for j in chunk], pad_id, [j[2] for j in chunk]), precision)
        np.add.at(nll, [j[0] for j in chunk], sums.numpy())
        np.add.at(count, [j[0] for j in chunk], counts.numpy())
        bar.update(len(chunk))
    bar.close()
    return nll, count


def pieces_nll(model, tok: Tokenizer, pieces: list[Piece], max_len: int, stride: int | None = None,
               batch_size: int = 8, precision: str = "auto", progress: bool = False) -> list[PieceNLL]:
    """The summed NLL of every dataset piece (controls given, music + EOS scored)."""
    items = [(tok.control_ids(Controls.from_meta(p.meta)), np.append(p.ids.astype(np.int64), tok.eos_id).tolist())
             for p in pieces]
    nll, count = sequences_nll(model, items, max_len, tok.pad_id, stride, batch_size, precision, progress)
    pitch_ids = np.array(tok.ids_of_type("Pitch") + tok.ids_of_type("PitchDrum"))
    return [PieceNLL(p.meta, float(nll[k]), int(count[k]), int(np.isin(p.ids, pitch_ids).sum()))
            for k, p in enumerate(pieces)]


def nll_figures(rows: list[PieceNLL]) -> dict:
    """Pieces, tokens, notes, nats per token, nats per note and bits per note of a group of pieces."""
    nll = sum(r.nll for r in rows)
    tokens, notes = sum(r.tokens for r in rows), sum(r.notes for r in rows)
    return {"pieces": len(rows), "tokens": tokens, "notes": notes,
            "nll_per_token": nll / tokens if tokens else math.nan,
            "nll_per_note": nll / notes if notes else math.nan,
            "bits_per_note": nll / notes / LN2 if notes else math.nan}


def grouped(rows: list[PieceNLL], field: str) -> dict[str, dict]:
    groups: dict[str, list[PieceNLL]] = {}
    for r in rows:
        groups.setdefault(str(r.meta.get(field) or "(none)"), []).append(r)
    return {name: nll_figures(g) for name, g in sorted(groups.items(), key=lambda kv: -len(kv[1]))}


def evaluate_model(model_path: str | Path, dataset: str | Path, split: str = "test", stride: int | None = None,
                   batch_size: int = 8, precision: str = "auto", limit: int | None = None,
                   progress: bool = False) -> dict:
    """NLL of a model on a dataset split, overall and per collection / composer."""
    from tunesmith.generate import load

    model = load(model_path)
    data = Dataset(dataset)
    pieces = data.pieces(split)[:limit] if limit else data.pieces(split)
    if not pieces:
        raise TunesmithError(f"{dataset}: the {split} split has no pieces")
    tok = model.tokenizer
    data_vocab = data.tokenizer().music_vocab_size
    if data_vocab != tok.music_vocab_size:
        raise TunesmithError(f"the dataset's music vocabulary ({data_vocab}) differs from the model's "
                             f"({tok.music_vocab_size}): they were not built with the same tokenizer")
    rows = pieces_nll(model.model, tok, pieces, model.config.max_len, stride, batch_size, precision, progress)
    room = model.config.max_len
    return {"model": str(model.folder), "dataset": str(dataset), "split": split, "context": room,
            "stride": stride, "overall": nll_figures(rows),
            "by_collection": grouped(rows, "collection"), "by_composer": grouped(rows, "composer")}


def format_nll_table(result: dict, max_rows: int = 15) -> str:
    """The figures as a plain-text table."""
    head = f"{'':28} {'pieces':>7} {'tokens':>9} {'notes':>8} {'nats/token':>10} {'nats/note':>9} {'bits/note':>9}"

    def line(name: str, f: dict) -> str:
        return (f"{name[:28]:28} {f['pieces']:>7} {f['tokens']:>9} {f['notes']:>8} {f['nll_per_token']:>10.4f} "
                f"{f['nll_per_note']:>9.3f} {f['bits_per_note']:>9.3f}")

    out = [f"{result['model']} on {result['dataset']} ({result['split']} split)", head,
           line("all", result["overall"])]
    for field in ("collection", "composer"):
        groups = result[f"by_{field}"]
        if len(groups) > 1:
            out.append(f"by {field}:")
            out += [line("  " + k, v) for k, v in list(groups.items())[:max_rows]]
            if len(groups) > max_rows:
                out.append(f"  ... {len(groups) - max_rows} more in the JSON")
    return "\n".join(out)
