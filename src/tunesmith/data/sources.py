"""Find the music files behind the sources a user names: the bundled music21 corpus, folders, files.

`iter_source_files(["music21:bach", "data/pianomidi", "x.mid"])` returns the files to load, in a
deterministic order, plus Skips for files that are known not to be scores. Folder sources may carry
labels: from a `metadata.csv`/`metadata.jsonl` at the folder root, or a composer from a sub-folder name.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from tunesmith.errors import BadInputError

SCORE_EXTENSIONS = {".mid", ".midi", ".xml", ".mxl", ".musicxml", ".abc", ".krn"}
# recordings, transcribed to notes by tunesmith.transcribe (needs the audio extra)
AUDIO_EXTENSIONS = {".wav", ".flac", ".mp3", ".ogg", ".aif", ".aiff"}
MUSIC_EXTENSIONS = SCORE_EXTENSIONS | AUDIO_EXTENSIONS

# Files music21 knows that are not scores: reported as Skips rather than silently dropped.
NOT_SCORE_EXTENSIONS = {".rntxt": "RomanText harmonic analysis, not a score"}

MUSIC21_PREFIX = "music21"
METADATA_FILES = ("metadata.csv", "metadata.jsonl")
PATH_COLUMNS = ("path", "file", "filename", "midi_filename", "midi")
LABELS_SEPARATOR = "::"
LABEL_ALIASES = {"canonical_composer": "composer", "canonical_title": "title"}


@dataclass(frozen=True)
class SourceFile:
    """One file to load: where it is, how reports name it, its collection and extra labels."""

    path: str
    display: str
    collection: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Skip:
    """A file (or "file#index" for one tune of a multi-tune file) that yields no piece, and why."""

    source: str
    reason: str


@dataclass
class SourceScan:
    """What scanning the sources found: files to load, Skips, and ignored non-music files."""

    files: list[SourceFile] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def iter_source_files(sources: list[str]) -> tuple[list[SourceFile], list[Skip]]:
    """Files to load and Skips for all sources (see scan_sources for the ignored-file count)."""
    scan = scan_sources(sources)
    return scan.files, scan.skipped


def count_ignored_files(sources: list[str]) -> int:
    """How many files in folder sources are not music (e.g. .txt, .jpg) and were ignored."""
    return len(scan_sources(sources).ignored)


def scan_sources(sources: list[str]) -> SourceScan:
    """Scan every source in order; a file reached twice is listed once (first wins)."""
    scan = SourceScan()
    seen: set[str] = set()
    for source in sources:
        part = _scan_one(source)
        for f in part.files:
            if f.path not in seen:
                seen.add(f.path)
                scan.files.append(f)
        scan.skipped.extend(part.skipped)
        scan.ignored.extend(part.ignored)
    return scan


def parse_source(source: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """`PATH::genre=pop,composer=x` -> (PATH, labels given to every piece the source holds)."""
    path, sep, extra = source.partition(LABELS_SEPARATOR)
    if not sep:
        return source, ()
    labels = []
    for item in extra.split(","):
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise BadInputError(source, f"labels after '{LABELS_SEPARATOR}' must read name=value[,name=value]")
        labels.append((LABEL_ALIASES.get(name.strip().lower(), name.strip().lower()), value.strip()))
    return path, tuple(sorted(labels))


def _scan_one(source: str) -> SourceScan:
    """Dispatch one source string to the corpus, folder or file scanner; `::name=value` labels apply to
    every file of the source whose own metadata does not set that label."""
    source, extra = parse_source(source)
    scan = _scan_path(source)
    if extra:
        scan.files = [replace(f, labels=tuple(sorted({**dict(extra), **dict(f.labels)}.items()))) for f in scan.files]
    return scan


def _scan_path(source: str) -> SourceScan:
    if source == MUSIC21_PREFIX or source.startswith(MUSIC21_PREFIX + ":"):
        names = [n.strip() for n in source.partition(":")[2].split(",") if n.strip()]
        return scan_music21_corpus(names or None)
    path = Path(source)
    if path.is_dir():
        return scan_folder(source)
    if path.is_file():
        return scan_single_file(source)
    raise BadInputError(source, "no such file or folder")


# ---------------------------------------------------------------------------------------------
# The music21 corpus
# ---------------------------------------------------------------------------------------------


def music21_corpus_root() -> Path:
    """The folder of the corpus bundled inside the music21 package."""
    from music21 import corpus

    return Path(corpus.__file__).resolve().parent


def music21_collections() -> dict[str, list[Path]]:
    """Corpus collection name (first folder under corpus/) → its files, sorted."""
    from music21 import corpus

    root = music21_corpus_root()
    out: dict[str, list[Path]] = {}
    for p in corpus.getCorePaths():
        rel = Path(p).resolve().relative_to(root)
        if len(rel.parts) > 1:
            out.setdefault(rel.parts[0], []).append(Path(p).resolve())
    return {name: sorted(paths) for name, paths in sorted(out.items())}


def scan_music21_corpus(names: list[str] | None = None) -> SourceScan:
    """Files of the bundled corpus, all collections or only `names` (case-insensitive)."""
    collections = music21_collections()
    if names is not None:
        by_lower = {c.lower(): c for c in collections}
        unknown = [n for n in names if n.lower() not in by_lower]
        if unknown:
            source = f"{MUSIC21_PREFIX}:{','.join(names)}"
            raise BadInputError(source, f"unknown music21 collection {', '.join(unknown)}; "
                                        f"valid: {', '.join(collections)}")
        wanted = {by_lower[n.lower()] for n in names}
        collections = {c: ps for c, ps in collections.items() if c in wanted}
    root = music21_corpus_root()
    scan = SourceScan()
    for name, paths in collections.items():
        for p in paths:
            display = f"{MUSIC21_PREFIX}:{p.relative_to(root).as_posix()}"
            _add_file(scan, SourceFile(str(p), display, name))
    return scan


def _add_file(scan: SourceScan, src: SourceFile) -> None:
    """File with a music extension → files; a known non-score → Skip; anything else → ignored."""
    ext = Path(src.path).suffix.lower()
    if ext in MUSIC_EXTENSIONS:
        scan.files.append(src)
    elif ext in NOT_SCORE_EXTENSIONS:
        scan.skipped.append(Skip(src.display, NOT_SCORE_EXTENSIONS[ext]))
    else:
        scan.ignored.append(src.display)


# ---------------------------------------------------------------------------------------------
# Folders and single files
# ---------------------------------------------------------------------------------------------


def scan_single_file(source: str) -> SourceScan:
    """One file named directly; its collection is the name of the folder holding it."""
    path = Path(source).resolve()
    ext = path.suffix.lower()
    if ext not in MUSIC_EXTENSIONS and ext not in NOT_SCORE_EXTENSIONS:
        raise BadInputError(source, f"not a music file (expected one of {', '.join(sorted(MUSIC_EXTENSIONS))})")
    scan = SourceScan()
    _add_file(scan, SourceFile(str(path), source, path.parent.name))
    return scan


def _walk_files(root: Path) -> list[Path]:
    """All files under root, relative to it, sorted; hidden files and folders are left out."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = Path(dirpath).relative_to(root)
        found.extend(rel_dir / f for f in filenames if not f.startswith("."))
    return sorted(found, key=lambda p: p.as_posix())


def scan_folder(source: str) -> SourceScan:
    """Music files under a folder (recursive), with labels from a metadata file or sub-folders."""
    root = Path(source).resolve()
    collection = root.name
    table = read_label_table(root)
    scan = SourceScan()
    for rel in _walk_files(root):
        if len(rel.parts) == 1 and rel.name in METADATA_FILES:
            continue
        labels = table.lookup(rel.as_posix()) if table else None
        if labels is None:
            labels = subfolder_labels(rel)
        display = os.path.join(source, *rel.parts)
        _add_file(scan, SourceFile(str(root / rel), display, collection, labels))
    _skip_audio_of_scores(scan)
    return scan


def _skip_audio_of_scores(scan: SourceScan) -> None:
    """A recording beside a score of the same name (x.wav beside x.mid, as in MAESTRO) is that score's
    audio: it becomes a Skip rather than a second, transcribed copy of the piece."""
    scores = {os.path.splitext(f.path)[0]: f for f in scan.files if Path(f.path).suffix.lower() in SCORE_EXTENSIONS}
    kept = []
    for f in scan.files:
        twin = scores.get(os.path.splitext(f.path)[0]) if Path(f.path).suffix.lower() in AUDIO_EXTENSIONS else None
        if twin is None:
            kept.append(f)
        else:
            reason = f"audio of a score in the same folder ({Path(twin.path).name}): not transcribed"
            scan.skipped.append(Skip(f.display, reason))
    scan.files = kept


def subfolder_labels(rel: Path) -> tuple[tuple[str, str], ...]:
    """Composer label from the first sub-folder when its name has a letter (chopin/x.mid, not 001/x.mid)."""
    if len(rel.parts) < 2:
        return ()
    folder = rel.parts[0]
    if not re.search(r"[A-Za-z]", folder):
        return ()
    return (("composer", folder.lower()),)


# ---------------------------------------------------------------------------------------------
# metadata.csv / metadata.jsonl
# ---------------------------------------------------------------------------------------------


class LabelTable:
    """Rows of a metadata file, found by relative path or by a matching path tail."""

    def __init__(self, rows: dict[str, tuple[tuple[str, str], ...]]):
        self.exact = rows
        self.tails: dict[str, tuple[tuple[str, str], ...] | None] = {}
        self.names: dict[str, tuple[tuple[str, str], ...] | None] = {}
        for path, labels in rows.items():
            name = path.rsplit("/", 1)[-1].lower()
            self.names[name] = labels if name not in self.names else None  # None: ambiguous
            parts = path.split("/")
            for i in range(1, len(parts)):
                tail = "/".join(parts[i:])
                self.tails[tail] = labels if tail not in self.tails else None  # None: ambiguous

    def lookup(self, rel: str) -> tuple[tuple[str, str], ...] | None:
        """Labels for a file (path relative to the folder); None when no row matches unambiguously."""
        if rel in self.exact:
            return self.exact[rel]
        if self.tails.get(rel) is not None:
            return self.tails[rel]
        parts = rel.split("/")
        for i in range(1, len(parts)):
            tail = "/".join(parts[i:])
            if tail in self.exact:
                return self.exact[tail]
        # last resort: the file name alone, when one row has it (piano-midi.de's CSV names
        # `midis/Albeniz/alb_esp1.mid` for what lies at `albeniz/alb_esp1.mid`)
        return self.names.get(parts[-1].lower())


def _normalise_row_path(text: str) -> str:
    """A path from a metadata file in a comparable form: forward slashes, no leading './'."""
    p = text.strip().replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p


def _row_labels(row: dict, path_key: str) -> tuple[tuple[str, str], ...]:
    """Non-empty string columns of a row (except the path) as sorted (name, value) pairs."""
    labels: dict[str, str] = {}
    for k, v in row.items():
        if k is None or k == path_key or not isinstance(v, str) or not v.strip():
            continue
        name = LABEL_ALIASES.get(k.strip().lower(), k.strip().lower())
        labels.setdefault(name, v.strip())
    return tuple(sorted(labels.items()))


def _read_rows(meta: Path) -> list[dict]:
    """Rows of a metadata.csv or metadata.jsonl file."""
    try:
        if meta.suffix == ".csv":
            with open(meta, newline="", encoding="utf-8-sig") as f:
                return list(csv.DictReader(f))
        with open(meta, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except (OSError, UnicodeDecodeError, csv.Error, json.JSONDecodeError) as e:
        raise BadInputError(meta, f"cannot read metadata file ({type(e).__name__}: {e})") from None
    if not all(isinstance(r, dict) for r in rows):
        raise BadInputError(meta, "each line must be a JSON object")
    return rows


def read_label_table(root: Path) -> LabelTable | None:
    """The label table of a folder's metadata.csv / metadata.jsonl, or None when it has neither."""
    meta = next((root / n for n in METADATA_FILES if (root / n).is_file()), None)
    if meta is None:
        return None
    rows = _read_rows(meta)
    columns = {k for r in rows for k in r if k is not None}
    path_key = next((c for c in PATH_COLUMNS if c in columns), None)
    if path_key is None:
        raise BadInputError(meta, f"no path column (expected one of {', '.join(PATH_COLUMNS)})")
    table: dict[str, tuple[tuple[str, str], ...]] = {}
    for row in rows:
        value = row.get(path_key)
        if isinstance(value, str) and value.strip():
            table.setdefault(_normalise_row_path(value), _row_labels(row, path_key))
    return LabelTable(table)
