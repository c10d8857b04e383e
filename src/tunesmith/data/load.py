"""Turn one source file into (symusic.Score, PieceMeta) pieces.

MIDI files are read by symusic directly. MusicXML, ABC and Humdrum/kern files are parsed by music21
and converted to symusic here (repeats expanded, ties merged, velocities from dynamics, as music21's
MIDI export plays them, but in linear time). A multi-tune ABC file yields one piece per tune, each
tune parsed on its own: one that fails becomes a "file#index" Skip and the others are kept; a file
whose tunes are the voices of one work (a part-book) yields one piece with a part per voice. A file
that cannot be read at all raises BadInputError with a one-line reason. Recordings (.wav .flac .mp3
.ogg .aif .aiff) are transcribed to notes by tunesmith.transcribe.load_recording. Nothing here prints, and
everything returned pickles, so load_pieces can run in a multiprocessing pool.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import symusic
from music21 import (bar, chord, converter, dynamics, instrument, meter, note, percussion, repeat,
                     spanner, stream, tempo)
from music21 import defaults as m21_defaults
from music21 import key as m21key
from music21.abcFormat import ABCFile
from music21.abcFormat import translate as abc_translate
from music21.midi import translate as m21_midi_translate

from tunesmith.data.abc_text import AbcTune, abc_header_fields, same_work_voices, split_abc_tunes
from tunesmith.data.beats import rebar_from_annotation
from tunesmith.data.metadata import (
    COLLECTION_COMPOSERS, COLLECTION_GENRES, DEFAULT_TEMPO, R_FIELD_NOT_A_FORM, VOCAL_COLLECTIONS, KeyInfo, PieceMeta,
    choose_key, content_hash, count_notes, duration_seconds, estimate_key_from_histogram,
    genre_from_title, initial_tempo, kern_key, music21_key_info, normalize_composer, normalize_genre,
    pitch_class_histogram, program_list, signature_fit, time_signature_list,
)
from tunesmith.data.sources import AUDIO_EXTENSIONS, MUSIC21_PREFIX, SourceFile, Skip
from tunesmith.errors import BadInputError
from tunesmith.instruments import CHOIR

MIDI_EXTENSIONS = {".mid", ".midi"}
TICKS_PER_QUARTER = m21_defaults.ticksPerQuarter  # 10080 as in music21's MIDI export: exact for tuplets
MIDI_KEY_HINT_TOLERANCE = 0.05  # a MIDI key signature is used only if it fits nearly as well as the best key
MAX_REASON_CHARS = 200
MAX_REPEAT_EXPANSION = 4  # repeats that would make a piece longer than this many times are not expanded
TIE_GAP = 1e-3  # quarter notes: a tied note continues a held one only if it starts where that one ends

_VOCAL_NAME = re.compile(
    r"\b(sopran\w*|alto|altus|contralto|mezzo\w*|tenor\w*|bass|basso|bassus|bariton\w*|cantus|canto|"
    r"quinto|quintus|quinta|sesto|sextus|superius|discantus|contratenor|contra|triplum|motetus|duplum|voice|voices|"
    r"voce|vox|voix|gesang|singstimme|stimme|choir|chorus|coro|chor)\b",
    re.IGNORECASE,
)
_REPEAT_CLASSES = (bar.Repeat, repeat.RepeatExpression, spanner.RepeatBracket)
_MINOR_MODES = ("minor", "aeolian", "dorian", "phrygian", "locrian")
_FILE_NAME = re.compile(r"\.(mxl|xml|musicxml|krn|abc|midi?)$", re.IGNORECASE)


@dataclass
class LoadResult:
    """The pieces found in one file, and the tunes of it that were skipped (with reasons)."""

    pieces: list[tuple[symusic.Score, PieceMeta]] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


@dataclass
class TuneInfo:
    """Facts about one piece that only the raw file shows (an ABC R: field, a kern key)."""

    genre: str | None = None
    key: KeyInfo | None = None  # overrides what music21 reports when set


def load_pieces(src: SourceFile) -> LoadResult:
    """All pieces of one source file. Raises BadInputError when the file cannot be read at all."""
    ext = Path(src.path).suffix.lower()
    if ext in AUDIO_EXTENSIONS:  # a recording: transcribed to notes (tunesmith.transcribe, the audio extra)
        from tunesmith.transcribe import load_recording

        return load_recording(src)
    with _quiet():
        if ext in MIDI_EXTENSIONS:
            return load_midi(src)
        if ext == ".abc":
            return load_abc(src)
        return load_music21_file(src)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the warnings and stderr messages music21 emits while parsing."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def short_reason(exc: BaseException) -> str:
    """One line for a report: exception class and the first line of its message."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0].strip()}" if lines else type(exc).__name__
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


def _read_bytes(src: SourceFile) -> bytes:
    """The file's bytes, or BadInputError when it cannot be read."""
    try:
        return Path(src.path).read_bytes()
    except FileNotFoundError:
        raise BadInputError(src.display, "no such file") from None
    except OSError as e:
        raise BadInputError(src.display, f"cannot read file ({short_reason(e)})") from None


# ---------------------------------------------------------------------------------------------
# MIDI
# ---------------------------------------------------------------------------------------------


def midi_structure_problem(data: bytes) -> str | None:
    """Why `data` is not a complete Standard MIDI File (None when its chunk structure is sound).

    symusic accepts truncated files and reads garbage from them, so the chunks are checked first:
    the MThd header, and that every declared MTrk chunk is present and not cut short.
    """
    if len(data) < 14 or data[:4] != b"MThd":
        return "not a Standard MIDI File (no MThd header)"
    header_len = int.from_bytes(data[4:8], "big")
    fmt = int.from_bytes(data[8:10], "big")
    n_tracks = int.from_bytes(data[10:12], "big")
    if header_len < 6 or fmt > 2:
        return f"bad MIDI header (length {header_len}, format {fmt})"
    pos, found = 8 + header_len, 0
    while pos + 8 <= len(data) and found < n_tracks:
        chunk_len = int.from_bytes(data[pos + 4: pos + 8], "big")
        if pos + 8 + chunk_len > len(data):
            return f"truncated MIDI file (a chunk needs {chunk_len} bytes, {len(data) - pos - 8} left)"
        found += data[pos:pos + 4] == b"MTrk"
        pos += 8 + chunk_len
    if found < n_tracks:
        return f"truncated MIDI file (header declares {n_tracks} tracks, found {found})"
    return None


def midi_key(score: symusic.Score) -> str:
    """Estimated key of a MIDI score; its first key-signature event is only a hint.

    MIDI key signatures are often wrong (a default C major, a stale signature after transposition),
    so the signature's two keys are preferred only when they fit the notes nearly as well as the best.
    """
    hist = pitch_class_histogram(score)
    signatures = sorted(score.key_signatures, key=lambda k: k.time)
    if signatures and -7 <= signatures[0].key <= 7:
        fifths = int(signatures[0].key)
        if signature_fit(hist, fifths) <= MIDI_KEY_HINT_TOLERANCE:
            return estimate_key_from_histogram(hist, fifths)
    return estimate_key_from_histogram(hist)


def load_midi(src: SourceFile) -> LoadResult:
    """One piece from a MIDI file, read by symusic; a file without notes → a Skip."""
    data = _read_bytes(src)
    problem = midi_structure_problem(data)
    if problem:
        raise BadInputError(src.display, problem)
    try:
        score = symusic.Score.from_midi(data)
    except Exception as e:  # symusic raises RuntimeError for malformed events
        raise BadInputError(src.display, short_reason(e)) from None
    if count_notes(score) == 0:
        return LoadResult(skipped=[Skip(src.display, "no notes")])
    score, bars_note = rebar_from_annotation(score, src.path)
    return single_piece(src, score, bars_source=bars_note or "file")


def single_piece(src: SourceFile, score: symusic.Score, bars_source: str = "file") -> LoadResult:
    """A file holding one piece with no notated metadata (MIDI, a transcription): labels + estimated key."""
    labels = dict(src.labels)
    title = labels.get("title")
    meta = _make_meta(src, 0, score, composer=normalize_composer(labels.get("composer")), title=title,
                      genre=normalize_genre(labels.get("genre")) or genre_from_title(title),
                      key=midi_key(score), key_source="estimated", bars_source=bars_source)
    return LoadResult(pieces=[(score, meta)])


# ---------------------------------------------------------------------------------------------
# music21 → symusic
# ---------------------------------------------------------------------------------------------


def names_a_voice(name: str) -> bool:
    """Whether a part's name or title is a voice's ("Tenor", "Quintus", "Sopran", "Choir")."""
    return bool(_VOCAL_NAME.search(name))


def is_vocal_part(part: stream.Stream, collection: str) -> bool:
    """Whether a part is sung: a music21 voice instrument, a voice's name, or a vocal collection's default.

    A specific instrument (violin, organ...) or a part name music21 knows as one is never vocal.
    """
    inst = part.getInstrument(returnDefault=False)
    if isinstance(inst, instrument.Vocalist):
        return True
    if inst is not None and type(inst) not in (instrument.Instrument, instrument.Piano):
        return False
    names = [n for n in (part.partName, getattr(inst, "partName", None), getattr(inst, "instrumentName", None)) if n]
    for name in names:
        try:
            return isinstance(instrument.fromString(name), instrument.Vocalist)
        except Exception:  # InstrumentException: a name music21 does not know
            if names_a_voice(name):
                return True
    return collection in VOCAL_COLLECTIONS


def measure_play_order(part: stream.Stream, measures: list[stream.Measure]) -> list[int] | None:
    """Indices of `measures` in playing order with repeats expanded; None when there is nothing to expand.

    music21's expandRepeats deep-copies the whole part for every repeat (minutes on a long quartet), so
    it runs here on a skeleton of empty measures that carry only the barlines, repeat expressions and
    voltas. Repeats music21 cannot expand (badly formed), or that would play the music more than
    MAX_REPEAT_EXPANSION times over (a run of stray "::" in an ABC tune), are played as written.
    """
    if not part.recurse().getElementsByClass(_REPEAT_CLASSES).first():
        return None
    skeleton = stream.Part()
    by_id: dict[int, stream.Measure] = {}
    for i, m in enumerate(measures):
        sk = stream.Measure(number=m.number)
        sk.numberSuffix = m.numberSuffix
        sk.leftBarline = copy.deepcopy(m.leftBarline)
        sk.rightBarline = copy.deepcopy(m.rightBarline)
        for expression in m.recurse().getElementsByClass(repeat.RepeatExpression):
            sk.insert(0, copy.deepcopy(expression))
        sk.groups.append(f"tunesmith-{i}")
        by_id[id(m)] = sk
        skeleton.append(sk)
    for bracket in part.recurse().getElementsByClass(spanner.RepeatBracket):
        members = [by_id[id(x)] for x in bracket.getSpannedElements() if id(x) in by_id]
        if members:
            skeleton.insert(0, spanner.RepeatBracket(members, number=bracket.number))
    try:
        expanded = skeleton.expandRepeats()
    except Exception:  # ExpanderException and the like
        return None
    order = [int(next(g for g in m.groups if g.startswith("tunesmith-"))[10:])
             for m in expanded.getElementsByClass(stream.Measure)]
    return order if len(order) <= MAX_REPEAT_EXPANSION * len(measures) else None


def _segments(part: stream.Stream) -> list[tuple[float, stream.Stream]]:
    """(start offset, stream) pieces of a part in playing order: its measures, or the part itself."""
    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        return [(0.0, part)]
    order = measure_play_order(part, measures)
    if order is None:
        return [(float(m.offset), m) for m in measures]
    out, cursor = [], float(measures[0].offset)
    for i in order:
        out.append((cursor, measures[i]))
        cursor += float(measures[i].duration.quarterLength)
    return out


def _unpitched_midi(n: note.NotRest) -> int:
    """GM drum key of an unpitched note (music21's own mapping; 38, a snare, when it has none)."""
    try:
        return int(m21_midi_translate._get_unpitched_pitch_value(n))  # pylint: disable=protected-access
    except Exception:
        return 38


def _sounding_notes(el: note.NotRest) -> list[tuple[int, str | None]]:
    """(MIDI pitch, tie type) of each note that a Note, Chord, Unpitched or PercussionChord sounds."""
    members = list(el.notes) if isinstance(el, (chord.Chord, percussion.PercussionChord)) else [el]
    out = []
    for n in members:
        tie = n.tie or getattr(el, "tie", None)
        value = _unpitched_midi(n) if isinstance(n, note.Unpitched) else n.pitch.midi
        out.append((min(max(int(value), 0), 127), tie.type if tie is not None else None))
    return out


def _channel_of(inst: instrument.Instrument | None, vocal: bool, el: note.NotRest) -> tuple[int, bool]:
    """(GM program, is_drum) of a note played by `inst` in a vocal or instrumental part."""
    if isinstance(el, (note.Unpitched, percussion.PercussionChord)) or isinstance(inst, instrument.UnpitchedPercussion):
        return 0, True
    if inst is not None and inst.midiChannel == 9:
        return 0, True
    if vocal:
        return CHOIR, False  # vocal parts are sung by the renderer
    return int(inst.midiProgram or 0) if inst is not None else 0, False


@dataclass
class _PartEvents:
    """What one part contributes: notes by (program, is_drum) and conductor events (in quarters)."""

    notes: dict[tuple[int, bool], list[list[float]]] = field(default_factory=dict)
    tempos: list[tuple[float, float]] = field(default_factory=list)
    signatures: list[tuple[float, meter.TimeSignature | m21key.KeySignature]] = field(default_factory=list)


def part_events(part: stream.Stream, collection: str) -> _PartEvents:
    """Walk a part in playing order. Note rows are [onset, duration, pitch, velocity] in quarter notes.

    Tied notes are merged (a tie left open merges into the next note of that pitch if it follows at
    once, as music21's stripTies does); grace notes (no duration in music21) are left out.
    """
    events = _PartEvents()
    vocal = is_vocal_part(part, collection)
    inst = part.getInstrument(returnDefault=False)
    dynamic: dynamics.Dynamic | None = None
    open_ties: dict[tuple[int, bool, int], list[float]] = {}
    for start, segment in _segments(part):
        for el in segment.flatten():
            at = start + float(el.offset)
            if isinstance(el, instrument.Instrument):
                inst = el
            elif isinstance(el, dynamics.Dynamic):
                dynamic = el
            elif isinstance(el, tempo.MetronomeMark) and el.getQuarterBPM():
                events.tempos.append((at, float(el.getQuarterBPM())))
            elif isinstance(el, (meter.TimeSignature, m21key.KeySignature)):
                events.signatures.append((at, el))
            elif isinstance(el, note.NotRest) and el.duration.quarterLength > 0:
                dur = float(el.duration.quarterLength)
                channel = _channel_of(inst, vocal, el)
                realized = el.volume.getRealized(useDynamicContext=dynamic if dynamic is not None else False)
                velocity = min(max(int(round(realized * 127)), 1), 127)
                for pitch_value, tie in _sounding_notes(el):
                    key = (*channel, pitch_value)
                    held = open_ties.pop(key, None)  # a tie is honoured only if this note starts as it ends
                    if held is not None and abs(held[0] + held[1] - at) < TIE_GAP:
                        held[1] = at + dur - held[0]
                        if tie in ("start", "continue"):
                            open_ties[key] = held
                        continue
                    row = [at, dur, float(pitch_value), float(velocity)]
                    events.notes.setdefault(channel, []).append(row)
                    if tie in ("start", "continue"):
                        open_ties[key] = row
    return events


def _ticks(quarters: float) -> int:
    return int(round(quarters * TICKS_PER_QUARTER))


def _make_track(rows: list[list[float]], program: int, is_drum: bool, name: str) -> symusic.core.TrackTick:
    """A symusic track from [onset, duration, pitch, velocity] rows in quarter notes."""
    track = symusic.Track(name=name, program=program, is_drum=is_drum)
    for onset, dur, pitch_value, velocity in sorted(rows):
        track.notes.append(symusic.Note(_ticks(onset), max(_ticks(dur), 1), int(pitch_value), int(velocity)))
    return track


def _add_signatures(out: symusic.core.ScoreTick,
                    signatures: list[tuple[float, meter.TimeSignature | m21key.KeySignature]]) -> None:
    """Time and key signatures (each only when it changes) into `out`."""
    last_ts = last_ks = None
    for at, el in signatures:
        if isinstance(el, meter.TimeSignature):
            if (el.numerator, el.denominator) != last_ts:
                last_ts = (el.numerator, el.denominator)
                out.time_signatures.append(symusic.TimeSignature(_ticks(at), el.numerator, el.denominator))
        elif -7 <= el.sharps <= 7:
            minor = isinstance(el, m21key.Key) and el.mode in _MINOR_MODES
            if (el.sharps, minor) != last_ks:
                last_ks = (el.sharps, minor)
                out.key_signatures.append(symusic.KeySignature(_ticks(at), el.sharps, int(minor)))


def music21_to_symusic(score: stream.Stream, collection: str = "") -> symusic.core.ScoreTick:
    """Convert a music21 score to symusic directly (no MIDI file in between).

    Plays like music21's MIDI export (repeats expanded, ties merged, velocities from dynamics, one
    track per part and program; tempo and signatures from the first part, tempo marks from any) in
    linear time. Vocal parts get GM program 52; parts without an instrument, 0 (piano).
    """
    parts = list(score.parts) if isinstance(score, stream.Score) and score.parts else [score]
    out = symusic.Score(TICKS_PER_QUARTER)
    tempos: list[tuple[float, float]] = []
    for number, part in enumerate(parts):
        shift = float(part.offset) if part is not score else 0.0
        events = part_events(part, collection)
        for (program, is_drum), rows in events.notes.items():
            for row in rows:
                row[0] += shift
            out.tracks.append(_make_track(rows, program, is_drum, part.partName or ""))
        tempos += [(at + shift, bpm) for at, bpm in events.tempos]
        if number == 0:
            _add_signatures(out, [(at + shift, el) for at, el in events.signatures])
    out.tempos.extend(_tempo_events(tempos))
    return out


def _tempo_events(tempos: list[tuple[float, float]]) -> list[symusic.core.TempoTick]:
    """Tempo events: the first mark at each time wins; 120 BPM until the first mark."""
    by_time: dict[int, float] = {}
    for at, bpm in sorted(tempos, key=lambda t: t[0]):
        by_time.setdefault(_ticks(at), bpm)
    by_time.setdefault(0, DEFAULT_TEMPO)
    return [symusic.Tempo(time, bpm) for time, bpm in sorted(by_time.items())]


# ---------------------------------------------------------------------------------------------
# Pieces from music21 scores
# ---------------------------------------------------------------------------------------------


def _music21_title(score: stream.Stream) -> str | None:
    """Title from music21 metadata (a movement name that is only the file name does not count)."""
    md = score.metadata
    if md is None:
        return None
    for candidate in (md.title, md.movementName):
        if candidate and candidate.strip() and not _FILE_NAME.search(candidate.strip()):
            return candidate.strip()
    return None


def _music21_composer(src: SourceFile, score: stream.Stream, labels: dict[str, str]) -> str | None:
    """Composer slug: a label, else the corpus collection's composer, else music21 metadata."""
    if labels.get("composer"):
        return normalize_composer(labels["composer"])
    if src.display.startswith(MUSIC21_PREFIX + ":") and src.collection in COLLECTION_COMPOSERS:
        return COLLECTION_COMPOSERS[src.collection]
    md = score.metadata
    return normalize_composer(md.composer) if md is not None else None


def piece_from_music21(src: SourceFile, index: int, m21: stream.Stream, tune: TuneInfo,
                       skip_name: str) -> tuple[symusic.Score, PieceMeta] | Skip:
    """Convert one music21 score to a (Score, PieceMeta) piece; a Skip when it has no notes."""
    score = music21_to_symusic(m21, src.collection)
    if count_notes(score) == 0:
        return Skip(skip_name, "no notes")
    labels = dict(src.labels)
    title = labels.get("title") or _music21_title(m21)
    is_corpus = src.display.startswith(MUSIC21_PREFIX + ":")
    tune_genre = None if src.collection in R_FIELD_NOT_A_FORM else tune.genre
    genre = (normalize_genre(labels.get("genre")) or tune_genre or genre_from_title(title)
             or (COLLECTION_GENRES.get(src.collection) if is_corpus else None))
    key, key_source = choose_key(score, tune.key or music21_key_info(m21))
    meta = _make_meta(src, index, score, composer=_music21_composer(src, m21, labels), title=title,
                      genre=genre, key=key, key_source=key_source)
    return score, meta


def _make_meta(src: SourceFile, index: int, score: symusic.Score, *, composer: str | None,
               title: str | None, genre: str | None, key: str, key_source: str,
               bars_source: str = "file") -> PieceMeta:
    """PieceMeta with everything else measured from the symusic score."""
    return PieceMeta(
        source=src.display, index=index, collection=src.collection, composer=composer, title=title,
        genre=genre, key=key, key_source=key_source, time_signatures=time_signature_list(score),
        tempo=initial_tempo(score), programs=program_list(score), duration=duration_seconds(score),
        n_notes=count_notes(score), content_hash=content_hash(score), labels=dict(src.labels),
        bars_source=bars_source,
    )


def _collect(src: SourceFile, jobs: list[Callable[[], tuple[stream.Stream, TuneInfo]]]) -> LoadResult:
    """Pieces and Skips from jobs that each parse (or just return) one music21 score.

    Jobs run one at a time and each score is dropped once converted: keeping hundreds of parsed tunes
    alive makes music21's context searches slower and slower. With a single job, a failure is the
    whole file's and raises BadInputError; with several, each failing one becomes a "file#index" Skip,
    unless all of them fail.
    """
    result = LoadResult()
    failures: list[str] = []
    many = len(jobs) > 1
    for index, job in enumerate(jobs):
        name = f"{src.display}#{index}" if many else src.display
        try:
            m21, tune = job()
            piece = piece_from_music21(src, index, m21, tune, name)
        except Exception as e:
            if not many:
                raise BadInputError(src.display, short_reason(e)) from None
            failures.append(short_reason(e))
            result.skipped.append(Skip(name, failures[-1]))
            continue
        if isinstance(piece, Skip):
            result.skipped.append(piece)
        else:
            result.pieces.append(piece)
    if many and len(failures) == len(jobs):
        raise BadInputError(src.display, f"none of its {len(jobs)} pieces could be read ({failures[0]})")
    return result


# ---------------------------------------------------------------------------------------------
# MusicXML and Humdrum/kern
# ---------------------------------------------------------------------------------------------


def _parse_with_music21(src: SourceFile) -> stream.Stream:
    """Parse a file with music21, bypassing its pickle cache; any failure → BadInputError."""
    if not Path(src.path).is_file():
        raise BadInputError(src.display, "no such file")
    try:
        return converter.parse(src.path, forceSource=True, storePickle=False)
    except Exception as e:
        raise BadInputError(src.display, short_reason(e)) from None


def load_music21_file(src: SourceFile) -> LoadResult:
    """Pieces of a MusicXML or kern file: one per score (an Opus gives several)."""
    parsed = _parse_with_music21(src)
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    if not scores:
        raise BadInputError(src.display, "no scores in file")
    tune = TuneInfo()
    if Path(src.path).suffix.lower() == ".krn" and len(scores) == 1 and not music21_key_info(scores[0]).annotated:
        tune.key = kern_key(_read_bytes(src).decode("utf-8", errors="replace"))
    return _collect(src, [functools.partial(_already_parsed, s, tune) for s in scores])


def _already_parsed(score: stream.Stream, tune: TuneInfo) -> tuple[stream.Stream, TuneInfo]:
    """A _collect job for a score that is already parsed."""
    return score, tune


# ---------------------------------------------------------------------------------------------
# ABC
# ---------------------------------------------------------------------------------------------


def _decode_text(src: SourceFile, data: bytes) -> str:
    """Text of a text file (UTF-8, else Latin-1); binary data → BadInputError."""
    if b"\x00" in data:
        raise BadInputError(src.display, "binary data, not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_abc_tune(header: str, tune: AbcTune, file_fields: dict[str, str]) -> tuple[stream.Score, TuneInfo]:
    """One tune parsed by music21's ABC reader (file header prepended, as music21 does), with the
    facts only its header shows: the genre from its R: field (else the file's), and K:none."""
    m21 = abc_translate.abcToStreamScore(ABCFile().readstr(header + tune.text))
    rhythm = tune.fields.get("R") or file_fields.get("R")
    no_key = tune.fields.get("K", "?").strip().lower() in ("none", "")
    return m21, TuneInfo(genre=normalize_genre(rhythm), key=KeyInfo() if no_key else None)


def parse_abc_voices(header: str, tunes: list[AbcTune], file_fields: dict[str, str]) -> tuple[stream.Score, TuneInfo]:
    """The tunes of a part-book ABC file (abc_text.same_work_voices) parsed one by one and joined as the
    parts of one score, each named for its voice; the first tune's metadata and facts stand for the work."""
    merged = stream.Score()
    info = TuneInfo()
    for number, tune in enumerate(tunes):
        voice, info_here = parse_abc_tune(header, tune, file_fields)
        if number == 0:
            merged.metadata, info = voice.metadata, info_here
        for part in voice.parts if voice.parts else [voice]:
            part.partName = tune.titles[1] if len(tune.titles) > 1 else f"voice {number + 1}"
            merged.insert(0, part)
    return merged, info


def load_abc(src: SourceFile) -> LoadResult:
    """One piece per tune of an ABC file, each tune parsed on its own so a bad tune costs only itself;
    a file whose tunes are the voices of one work gives one piece with a part per voice."""
    text = _decode_text(src, _read_bytes(src))
    header, tunes = split_abc_tunes(text)
    if not any("K" in t.fields for t in tunes):
        raise BadInputError(src.display, "no ABC tune found (no K: field)")
    file_fields = abc_header_fields(header) if header else {}
    if same_work_voices(tunes, names_a_voice):
        return _collect(src, [functools.partial(parse_abc_voices, header, tunes, file_fields)])
    return _collect(src, [functools.partial(parse_abc_tune, header, t, file_fields) for t in tunes])
