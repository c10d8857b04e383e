"""`tunesmith data build`: source files -> de-duplicated, split, tokenized dataset folder.

The folder (written atomically: it appears whole or not at all):

    manifest.json      counts per collection and split, sources, tokenizer parameters
    pieces.jsonl       one metadata record per kept piece, with its split and where its tokens are
    tokens/<split>.npy the REMI ids of that split's pieces, concatenated (uint16)
    tokenizer/         the tokenizer (music vocabulary + the labels found in the training split)
    skipped.jsonl      every file or tune that was not kept, with the reason
    duplicates.jsonl   every piece dropped as a duplicate, with the piece it duplicates

Per-file results are cached (by path, size, mtime and tokenizer), so a rebuild over unchanged
inputs only re-reads the cache.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import signal
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tunesmith.data.beats import beat_annotation_for
from tunesmith.data.load import load_pieces
from tunesmith.data.sources import SourceFile, iter_source_files
from tunesmith.fileio import atomic_dir, write_bytes, write_json, write_jsonl
from tunesmith.tokenizer import REMI_PARAMS, ControlVocab, Tokenizer

SPLITS = ("train", "validation", "test")
CACHE_VERSION = "1"
FILE_TIMEOUT = 300  # seconds one file may take to read (music21's converter is slow on some large scores)
MIN_LABEL_COUNT = 5  # a collection, composer or genre becomes a control token with this many training pieces


@dataclass
class FileResult:
    """What one source file gave: kept pieces (metadata + REMI ids) and skipped items."""

    metas: list[dict] = field(default_factory=list)
    ids: list[np.ndarray] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


@dataclass
class BuildReport:
    out: Path
    files: int
    pieces_read: int
    kept: int
    duplicates: int
    skipped: int
    cached_files: int
    seconds: float
    per_collection: dict[str, dict[str, dict[str, int]]]  # collection -> split -> {pieces, tokens}
    skip_reasons: dict[str, int]


def split_of(content_hash: str, validation: float = 0.05, test: float = 0.05) -> str:
    """Deterministic split from a piece's content hash: stable when other files come and go."""
    u = int(hashlib.sha1(content_hash.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if u < test else "validation" if u < test + validation else "train"


def default_cache_dir() -> Path:
    root = os.environ.get("TUNESMITH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "tunesmith")
    return Path(root) / "pieces"


def _code_version() -> str:
    """A digest of the code that turns a file into cached pieces: changing it invalidates the cache."""
    from tunesmith import transcribe
    from tunesmith.data import abc_text, beats, load, metadata

    digest = hashlib.sha1(CACHE_VERSION.encode())  # the music vocabulary (REMI_PARAMS) is in every key
    for module in (abc_text, beats, load, metadata, transcribe):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


CODE_VERSION = _code_version()


def _cache_key(src: SourceFile) -> str:
    st = os.stat(src.path)
    beats = beat_annotation_for(src.path)
    beats_st = os.stat(beats) if beats else None
    raw = json.dumps([CODE_VERSION, src.path, src.display, src.collection, list(src.labels),
                      st.st_size, st.st_mtime_ns, repr(sorted(REMI_PARAMS.items())),
                      [beats_st.st_size, beats_st.st_mtime_ns] if beats_st else None])
    return hashlib.sha1(raw.encode()).hexdigest()


def _read_cache(folder: Path, key: str) -> FileResult | None:
    meta_path, ids_path = folder / f"{key}.json", folder / f"{key}.npz"
    if not (meta_path.is_file() and ids_path.is_file()):
        return None
    try:
        raw = json.loads(meta_path.read_text())
        with np.load(ids_path, allow_pickle=False) as z:
            flat, lengths = z["flat"], z["lengths"]
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache entry is rebuilt
    ids = np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []
    return FileResult(raw["metas"], list(ids), raw["skipped"])


def _write_cache(folder: Path, key: str, result: FileResult) -> None:
    import io

    buf = io.BytesIO()
    lengths = np.array([len(a) for a in result.ids], dtype=np.int64)
    flat = np.concatenate(result.ids) if result.ids else np.zeros(0, np.uint16)
    np.savez(buf, flat=flat.astype(np.uint16), lengths=lengths)
    write_bytes(folder / f"{key}.npz", buf.getvalue())
    write_json(folder / f"{key}.json", {"metas": result.metas, "skipped": result.skipped})


_TOKENIZER: Tokenizer | None = None


class FileTimeout(BaseException):
    """Raised by SIGALRM inside a file's reading (a BaseException, so no `except Exception` swallows it)."""


def _on_alarm(signum, frame):
    raise FileTimeout()


def _load_with_timeout(src: SourceFile, timeout: int):
    if timeout <= 0 or not hasattr(signal, "SIGALRM"):
        return load_pieces(src)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(timeout)
    try:
        return load_pieces(src)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def process_file(src: SourceFile, timeout: int = FILE_TIMEOUT) -> FileResult:
    """Load one source file and tokenize its pieces. Never raises for a bad file: it is a skip."""
    global _TOKENIZER
    if _TOKENIZER is None:
        _TOKENIZER = Tokenizer()
    result = FileResult()
    try:
        loaded = _load_with_timeout(src, timeout)
    except FileTimeout:
        result.skipped.append({"source": src.display, "reason": f"timed out: reading took over {timeout} s",
                               "transient": True})
        return result
    except Exception as e:  # BadInputError carries a clear reason; anything else is reported too
        reason = getattr(e, "reason", None) or f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        result.skipped.append({"source": src.display, "reason": reason,
                               **({"transient": True} if getattr(e, "transient", False) else {})})
        return result
    result.skipped += [{"source": s.source, "reason": s.reason} for s in loaded.skipped]
    for score, meta in loaded.pieces:
        where = meta.piece_id
        try:
            bad_sigs = _TOKENIZER.remi.score_has_time_signatures_not_in_vocab(score)
            if bad_sigs:
                sigs = sorted({f"{ts.numerator}/{ts.denominator}" for ts in score.time_signatures})
                result.skipped.append({"source": where, "reason": f"time signature not supported: {', '.join(sigs)}"})
                continue
            ids = _TOKENIZER.encode_music(score)
        except Exception as e:
            result.skipped.append({"source": where, "reason": f"tokenization failed: {type(e).__name__}: {e}"})
            continue
        if len(ids) < 8:
            result.skipped.append({"source": where, "reason": "too short after tokenization"})
            continue
        result.metas.append(meta.to_dict())
        result.ids.append(ids)
    return result


def _process_cached(args: tuple[SourceFile, str | None]) -> tuple[FileResult, bool]:
    src, cache = args
    key = _cache_key(src) if cache else None
    if cache:
        hit = _read_cache(Path(cache), key)
        if hit is not None:
            return hit, True
    result = process_file(src)
    if cache and not any(s.get("transient") for s in result.skipped):  # a time-out may pass next time
        _write_cache(Path(cache), key, result)
    return result, False


def build_dataset(
    sources: list[str],
    out: str | Path,
    *,
    workers: int | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    limit: int | None = None,
    progress: bool = True,
) -> BuildReport:
    """Build a dataset folder from music21 corpus collections, folders and files (see module doc)."""
    t0 = time.time()
    out = Path(out)
    files, skips = iter_source_files(sources)
    if limit is not None:
        files = files[:limit]
    skipped = [{"source": s.source, "reason": s.reason} for s in skips]
    cache = None
    if use_cache:
        cache = Path(cache_dir) if cache_dir else default_cache_dir()
        cache.mkdir(parents=True, exist_ok=True)
    workers = workers or min(len(files), os.cpu_count() or 1) or 1

    results: list[tuple[int, FileResult]] = []
    cached = 0
    jobs = [(f, str(cache) if cache else None) for f in files]
    bar = tqdm(total=len(jobs), desc="reading music", unit="file", disable=not progress)
    if workers > 1 and len(jobs) > 1:
        # larger files first so the slowest ones do not finish last
        order = sorted(range(len(jobs)), key=lambda i: -os.path.getsize(files[i].path))
        with mp.get_context("fork").Pool(workers, maxtasksperchild=50) as pool:
            it = pool.imap_unordered(_indexed, [(i, jobs[i]) for i in order], chunksize=1)
            for i, (res, hit) in it:
                results.append((i, res))
                cached += hit
                bar.update()
    else:
        for i, job in enumerate(jobs):
            res, hit = _process_cached(job)
            results.append((i, res))
            cached += hit
            bar.update()
    bar.close()
    results.sort(key=lambda r: r[0])

    # gather, de-duplicate on musical content (first in source order wins), split by content hash
    pieces: list[tuple[dict, np.ndarray]] = []
    for _, res in results:
        skipped += res.skipped
        pieces += list(zip(res.metas, res.ids))
    pieces_read = len(pieces)
    seen: dict[str, str] = {}
    kept: list[tuple[dict, np.ndarray]] = []
    duplicates = []
    for meta, ids in pieces:
        pid = f"{meta['source']}#{meta['index']}"
        h = meta["content_hash"]
        if h in seen:
            duplicates.append({"piece": pid, "duplicate_of": seen[h]})
            continue
        seen[h] = pid
        meta = dict(meta, id=pid, split=split_of(h), n_tokens=int(len(ids)))
        kept.append((meta, ids))

    train_metas = [m for m, _ in kept if m["split"] == "train"]
    tokenizer = Tokenizer(ControlVocab.from_metadata(train_metas, min_count=MIN_LABEL_COUNT))
    per_collection: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: {s: {"pieces": 0, "tokens": 0} for s in SPLITS})
    with atomic_dir(out) as tmp:
        (tmp / "tokens").mkdir()
        records = []
        for split in SPLITS:
            offset, arrays = 0, []
            for meta, ids in kept:
                if meta["split"] != split:
                    continue
                records.append(dict(meta, offset=offset))
                arrays.append(ids)
                offset += len(ids)
                per_collection[meta["collection"]][split]["pieces"] += 1
                per_collection[meta["collection"]][split]["tokens"] += len(ids)
            flat = np.concatenate(arrays).astype(np.uint16) if arrays else np.zeros(0, np.uint16)
            np.save(tmp / "tokens" / f"{split}.npy", flat)
        write_jsonl(tmp / "pieces.jsonl", records)
        write_jsonl(tmp / "skipped.jsonl", skipped)
        write_jsonl(tmp / "duplicates.jsonl", duplicates)
        tokenizer.save(tmp / "tokenizer")
        reasons: dict[str, int] = defaultdict(int)
        for s in skipped:
            reasons[s["reason"].split(":")[0]] += 1
        report = BuildReport(out, len(files), pieces_read, len(kept), len(duplicates), len(skipped), cached,
                             round(time.time() - t0, 1), dict(per_collection), dict(reasons))
        write_json(tmp / "manifest.json", {
            "format": "tunesmith-dataset/1",
            "sources": sources,
            "files": report.files,
            "pieces_read": report.pieces_read,
            "kept": report.kept,
            "duplicates": report.duplicates,
            "skipped": report.skipped,
            "splits": {s: {"pieces": sum(c[s]["pieces"] for c in per_collection.values()),
                           "tokens": sum(c[s]["tokens"] for c in per_collection.values())} for s in SPLITS},
            "collections": report.per_collection,
            "skip_reasons": report.skip_reasons,
            "vocab_size": tokenizer.vocab_size,
            "build_seconds": report.seconds,
        })
    return report


def _indexed(arg):
    i, job = arg
    return i, _process_cached(job)


def format_report(report: BuildReport) -> str:
    """The end-of-build summary: pieces and tokens per collection and split, counts, skip reasons."""
    lines = [f"{'collection':<22}" + "".join(f"{s + ' pieces':>18}{'tokens':>11}" for s in SPLITS)]
    totals = {s: [0, 0] for s in SPLITS}
    for name in sorted(report.per_collection):
        row = report.per_collection[name]
        lines.append(f"{name:<22}" + "".join(f"{row[s]['pieces']:>18,}{row[s]['tokens']:>11,}" for s in SPLITS))
        for s in SPLITS:
            totals[s][0] += row[s]["pieces"]
            totals[s][1] += row[s]["tokens"]
    lines.append(f"{'total':<22}" + "".join(f"{totals[s][0]:>18,}{totals[s][1]:>11,}" for s in SPLITS))
    lines.append("")
    lines.append(f"files {report.files:,} ({report.cached_files:,} from cache) | pieces read {report.pieces_read:,} | "
                 f"kept {report.kept:,} | duplicates {report.duplicates:,} | skipped {report.skipped:,} | "
                 f"{report.seconds:.1f} s")
    if report.skip_reasons:
        lines.append("skipped by reason: " + ", ".join(f"{k} ({v})" for k, v in sorted(
            report.skip_reasons.items(), key=lambda kv: -kv[1])))
        lines.append(f"skip report: {report.out / 'skipped.jsonl'}")
    lines.append(f"dataset: {report.out}")
    return "\n".join(lines)
