"""Bar lines from a beat annotation beside a MIDI file (POP909's `beat_midi.txt`).

Some MIDI collections are exported from audio-aligned sequencing: their beats fall wherever the
recording's first beat fell, not on the tick grid, and their time signatures are placeholders. POP909
is the common case. 534 of its 909 files declare 1/4 bars (others 2/4 or conflicting signatures at tick
0), and every song's beats sit a song-specific number of ticks after the grid's: song 100's by 221 of
480, so its on-beat notes would be quantised to the off-beat eighth. Each song's folder holds
`beat_midi.txt`, one line per beat: time in seconds, a beat flag, a downbeat flag. `rebar` moves the
music so that the annotated downbeats fall on bar lines, and writes the bars the annotation gives (a
4/4 song with one 2/4 bar gets a 2/4 signature for that bar and 4/4 again after it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import symusic

from tunesmith.errors import BadInputError

BEAT_FILE = "beat_midi.txt"
MIDI_SUFFIXES = (".mid", ".midi")
MAX_BEATS_PER_BAR = 12  # longest bar written as N/4 (the tokenizer's vocabulary)


def beat_annotation_for(midi_path: str | Path) -> Path | None:
    """The beat annotation that belongs to a MIDI file: `beat_midi.txt` in its folder when the folder
    holds no other MIDI file (POP909's `<id>/<id>.mid` layout); otherwise (or for any other file) None."""
    path = Path(midi_path)
    annotation = path.parent / BEAT_FILE
    if path.suffix.lower() not in MIDI_SUFFIXES or not annotation.is_file():
        return None
    midis = [p for p in path.parent.iterdir() if p.suffix.lower() in MIDI_SUFFIXES]
    return annotation if len(midis) == 1 else None


def read_beat_annotation(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(beat times in seconds, whether each is a downbeat) from a `time beat downbeat` text file."""
    try:
        rows = np.loadtxt(path, ndmin=2)
    except ValueError as e:
        raise BadInputError(path, f"not a beat annotation (time beat downbeat per line): {e}") from None
    if rows.shape[1] < 3 or len(rows) < 2:
        raise BadInputError(path, "not a beat annotation: needs lines of 'time beat downbeat', at least two")
    times, downbeat = rows[:, 0], rows[:, 2] == 1
    if np.any(np.diff(times) <= 0):
        raise BadInputError(path, "beat times must increase")
    if not downbeat.any():
        raise BadInputError(path, "no downbeat marked")
    return times, downbeat


def seconds_to_ticks(score: symusic.Score, seconds: np.ndarray) -> np.ndarray:
    """Tick positions of times in seconds, through the score's tempo map (120 BPM before any tempo)."""
    tempos = sorted(score.tempos, key=lambda t: t.time)
    starts_tick, starts_sec, sec_per_tick = [0], [0.0], [60 / (120 * score.tpq)]
    for tempo in tempos:
        sec = starts_sec[-1] + (tempo.time - starts_tick[-1]) * sec_per_tick[-1]
        starts_tick.append(tempo.time)
        starts_sec.append(sec)
        sec_per_tick.append(60 / (tempo.qpm * score.tpq))
    segment = np.searchsorted(np.array(starts_sec), seconds, side="right") - 1
    return np.array(starts_tick)[segment] + (seconds - np.array(starts_sec)[segment]) / np.array(sec_per_tick)[segment]


def bars_from_beats(beat_ticks: np.ndarray, downbeat: np.ndarray, tpq: int) -> tuple[int, list[int]]:
    """(tick of the first downbeat, beats in each bar from it on) for quarter-note beats; the bar after the
    last downbeat is as long as the most common bar. Raises ValueError when the beats are not a steady
    quarter-note grid or a bar is longer than MAX_BEATS_PER_BAR."""
    steps = np.diff(beat_ticks) / tpq
    if np.mean(np.abs(steps - 1) < 0.1) < 0.95:
        raise ValueError(f"beats are not quarter notes of the MIDI file (median {np.median(steps):.2f} quarters apart)")
    first = int(np.flatnonzero(downbeat)[0])
    lengths = np.diff(np.flatnonzero(downbeat)).tolist()
    lengths.append(int(np.bincount(lengths).argmax()) if lengths else int(len(beat_ticks) - first))
    if max(lengths) > MAX_BEATS_PER_BAR:
        raise ValueError(f"a bar of {max(lengths)} beats")
    return int(round(beat_ticks[first])), lengths


def rebar(score: symusic.Score, beat_seconds: np.ndarray, downbeat: np.ndarray) -> symusic.Score:
    """A copy of `score` moved later by less than one bar so that its first annotated downbeat is a bar
    line, with one N/4 time signature per run of N-beat bars of the annotation (ValueError where the
    annotation does not fit the file: see bars_from_beats)."""
    first, lengths = bars_from_beats(seconds_to_ticks(score, beat_seconds), downbeat, score.tpq)
    bar = lengths[0] * score.tpq
    shift = -first % bar  # the music before the first downbeat fills whole bars of the first meter
    out = score.shift_time(shift)
    if out.tempos and score.tempos and min(t.time for t in score.tempos) == 0:
        out.tempos[0].time = 0  # the tempo in force from the start
    signatures, tick = [symusic.TimeSignature(0, lengths[0], 4)], first + shift
    for before, length in zip(lengths, lengths[1:]):
        tick += before * score.tpq
        if length != before:
            signatures.append(symusic.TimeSignature(tick, length, 4))
    out.time_signatures = signatures
    return out


def rebar_from_annotation(score: symusic.Score, midi_path: str | Path) -> tuple[symusic.Score, str | None]:
    """`score` re-barred by the beat annotation beside `midi_path` when it has one, and what was done
    (None when there is no annotation). An annotation that is unreadable or does not fit leaves the
    file's own bars, and the note says why."""
    annotation = beat_annotation_for(midi_path)
    if annotation is None:
        return score, None
    try:
        times, downbeat = read_beat_annotation(annotation)
        return rebar(score, times, downbeat), f"bars from {annotation.name}"
    except (BadInputError, ValueError) as e:
        return score, f"own bars kept: {annotation.name} unusable ({e})"
