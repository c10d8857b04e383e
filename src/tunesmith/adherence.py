"""Did the music obey? Measure a decoded score with analyzers independent of the generator, and
compare with what was asked.

The measurements read only the MIDI (symusic) and music21: the key by music21's Krumhansl-Schmuckler
analyzer, tempo and meter from the file's events, instruments from its tracks, length from its notes.
Used on every generation (the report beside each output) and by benchmarks/control_adherence.py.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import symusic

from tunesmith import ops
from tunesmith.words import mood_holds

RELATIVE_SHIFT = {"major": -3, "minor": 3}  # semitones from a key's tonic to its relative's
STUCK_BARS = 4  # a piece is stuck when, for this many bars in a row, two pitches make STUCK_SHARE of its notes,
STUCK_SHARE = 0.85  # counting only bars of STUCK_MIN_NOTES notes or more (a held note is not a loop)
STUCK_MIN_NOTES = 4
SILENT_SHARE = 0.5  # an ensemble fails when an instrument asked rests for this share of its bars in a row or more:
#                     3.9% of the 1,170 16-bar windows of the training data's real ensembles (quartets, chorales
#                     with continuo...) rest one part 8 bars in a row; a tenth of the model's quartets and trios did
VOICES_SHARE = 0.2  # N voices asked: all N sound together at least this share of the time. Real polyphony in
#                     the corpus: Palestrina's 4-voice pieces 48% (median), 5-voice 30%, 6-voice 24%; chorales ~100%


# ---- measurements -------------------------------------------------------------------------------

def measure_key(score: symusic.Score) -> str | None:
    """music21's Krumhansl-Schmuckler key of the pitched notes (durations weighted), e.g. 'D minor'."""
    from music21 import note, stream
    from music21.analysis.discrete import KrumhanslSchmuckler

    tpq = score.ticks_per_quarter
    s = stream.Stream()
    notes = []
    for track in score.tracks:
        if track.is_drum:
            continue
        for n in track.notes:
            m = note.Note(int(n.pitch))
            m.quarterLength = max(n.duration / tpq, 1 / 16)
            notes.append((n.time / tpq, m))
    if not notes:
        return None
    for offset, m in notes:
        s.coreInsert(offset, m)
    s.coreElementsChanged()
    k = KrumhanslSchmuckler().getSolution(s)
    return ops.normalize_key(f"{k.tonic.name} {k.mode}")


def out_of_key_share(score: symusic.Score, key: str) -> float:
    """The share of the pitched notes outside `key`'s scale (ops.SCALE_DEGREES): 0 for a piece with no
    accidental; real classical piano is around 0.1-0.2, folk tunes near 0."""
    tonic, mode = ops.parse_key(key)
    pitches = [n.pitch for t in score.tracks if not t.is_drum for n in t.notes]
    if not pitches:
        return math.nan
    return sum((p - tonic) % 12 not in ops.SCALE_DEGREES[mode] for p in pitches) / len(pitches)


def relative_key(key: str) -> str:
    pc, mode = ops.parse_key(key)
    return ops.key_name(pc + RELATIVE_SHIFT[mode], "minor" if mode == "major" else "major")


def measure_meters(score: symusic.Score) -> list[str]:
    return sorted({f"{t.numerator}/{t.denominator}" for t in score.time_signatures})


def measure_tempos(score: symusic.Score) -> list[float]:
    return sorted({round(float(t.qpm), 2) for t in score.tempos})


def measure_programs(score: symusic.Score) -> list[int]:
    """GM programs of the tracks that play notes (-1 = drums)."""
    return sorted({-1 if t.is_drum else int(t.program) for t in score.tracks if t.note_num() > 0})


def bar_numbers(score: symusic.Score, ticks: np.ndarray) -> np.ndarray:
    """The bar (from 0) each tick in `ticks` falls in, walking the time signatures (4/4 before the first)."""
    tpq = score.ticks_per_quarter
    sigs = _signatures(score)
    ticks = np.asarray(ticks, dtype=np.float64)
    bars = np.zeros(len(ticks), dtype=np.int64)
    first = 0  # the bar the current time signature starts on
    for i, (start, num, den) in enumerate(sigs):
        bar_ticks = num * tpq * 4 / den
        stop = sigs[i + 1][0] if i + 1 < len(sigs) else math.inf
        inside = (ticks >= start) & (ticks < stop)
        bars[inside] = first + np.floor((ticks[inside] - start) / bar_ticks + 1e-9).astype(np.int64)
        if stop < math.inf:
            first += round((stop - start) / bar_ticks)
    return bars


def bar_start_tick(score: symusic.Score, bar: int) -> int:
    """The tick at which bar `bar` (from 0) begins, walking the time signatures as bar_numbers does."""
    tpq, sigs, first = score.ticks_per_quarter, _signatures(score), 0
    for i, (start, num, den) in enumerate(sigs):
        bar_ticks = num * tpq * 4 / den
        span = round((sigs[i + 1][0] - start) / bar_ticks) if i + 1 < len(sigs) else math.inf
        if bar < first + span:
            return int(round(start + (bar - first) * bar_ticks))
        first += span
    return 0


def from_bar(score: symusic.Score, bar: int) -> symusic.Score:
    """The notes of `score` that start at bar `bar` (from 0) or later, with its tempos and time signatures: the new
    music after a MIDI prompt's opening (the score itself for bar 0)."""
    return score.clip(bar_start_tick(score, bar), score.end() + 1, clip_end=False) if bar else score


def _signatures(score: symusic.Score) -> list[tuple[int, int, int]]:
    """(tick, numerator, denominator) of each time signature, with 4/4 from tick 0 when none is there."""
    sigs = sorted(((int(t.time), t.numerator, t.denominator) for t in score.time_signatures), key=lambda x: x[0])
    if not sigs or sigs[0][0] > 0:
        sigs.insert(0, (0, 4, 4))
    return sigs


def measure_bars(score: symusic.Score) -> int:
    """Bars from time 0 through the bar of the last note onset, walking the time signatures
    (a last note held over the final bar line does not add a bar)."""
    if score.note_num() == 0:
        return 0
    last = max(n.time for t in score.tracks for n in t.notes)
    return int(bar_numbers(score, np.array([last]))[0]) + 1


def longest_stuck_run(score: symusic.Score, from_bar: int = 0) -> int:
    """The most bars in a row, from bar `from_bar` on, that each sound at least STUCK_MIN_NOTES notes and
    whose two most played pitches make at least STUCK_SHARE of their notes: a sampler caught in a loop
    (one note hammered for six bars, two notes trilled for ten). Real music seldom does it for STUCK_BARS
    bars even over whole pieces: 0 of 678 reels, 0 of 600 Irish tunes, 0 of 400 chorales and motets,
    0 of 300 pop songs, 10 of 1,500 German folk songs, 2 of 261 classical piano pieces."""
    pitches, onsets = [], []
    for t in score.tracks:
        if not t.is_drum and t.note_num():
            a = t.notes.numpy()
            pitches.append(a["pitch"])
            onsets.append(a["time"])
    if not pitches:
        return 0
    pitch = np.concatenate(pitches)
    bar = bar_numbers(score, np.concatenate(onsets))
    per_bar = [Counter(pitch[bar == b].tolist()) for b in range(from_bar, int(bar.max()) + 1)]
    longest = 0
    for i in range(len(per_bar)):
        heard: Counter = Counter()
        for j in range(i, len(per_bar)):
            heard += per_bar[j]
            top_two = sum(n for _, n in heard.most_common(2))
            if per_bar[j].total() < STUCK_MIN_NOTES or top_two < STUCK_SHARE * heard.total():
                break
            longest = max(longest, j - i + 1)
    return longest


def voices_heard(score: symusic.Score, from_tick: int = 0) -> dict[int, float]:
    """{n: share of the sounding time (from `from_tick` on) during which exactly n notes sound together},
    over every pitched track: a four-part chorale is {4: 0.93, 3: 0.05, ...}, a melody {1: 1.0}."""
    starts, ends = [], []
    for t in score.tracks:
        if not t.is_drum and t.note_num():
            a = t.notes.numpy()
            starts.append(np.maximum(a["time"], from_tick))
            ends.append(a["time"] + a["duration"])
    if not starts:
        return {}
    start, end = np.concatenate(starts), np.concatenate(ends)
    keep = end > start
    times = np.concatenate([start[keep], end[keep]])
    steps = np.concatenate([np.ones(keep.sum(), int), -np.ones(keep.sum(), int)])
    order = np.argsort(times, kind="stable")
    times, sounding = times[order], np.cumsum(steps[order])  # notes sounding from each event to the next
    spans = np.diff(times)
    heard = {int(n): float(spans[sounding[:-1] == n].sum()) for n in np.unique(sounding[:-1]) if n > 0}
    total = sum(heard.values())
    return {n: t / total for n, t in sorted(heard.items()) if t > 0} if total else {}


def outer_lines(score: symusic.Score) -> tuple[float, float]:
    """The median pitch of the highest and of the lowest note sounding at each onset (every pitched track):
    where a texture's top and bottom lines lie (4-part Bach chorales: 71 and 52)."""
    notes = [t.notes.numpy() for t in score.tracks if t.note_num() and not t.is_drum]
    if not notes:
        return 0.0, 0.0
    start, pitch = (np.concatenate([a[k] for a in notes]) for k in ("time", "pitch"))
    end = start + np.concatenate([a["duration"] for a in notes])
    at = [pitch[(start <= t) & ((end > t) | (start == t))] for t in np.unique(start)]
    return float(np.median([p.max() for p in at])), float(np.median([p.min() for p in at]))


def voices_hold(heard: dict[int, float], voices: int) -> bool:
    """Whether a measured texture (voices_heard) is the `voices` asked: never more notes at once, and all of
    them together for at least VOICES_SHARE of the time."""
    return max(heard, default=0) == voices and heard.get(voices, 0.0) >= VOICES_SHARE


def keyboard_chords(score: symusic.Score) -> list[list[int]]:
    """The pitches each keyboard track (ops.KEYBOARDS) strikes together, onset by onset: what
    ops.fits_two_hands judges."""
    chords: dict[tuple[int, int], list[int]] = {}
    for track in score.tracks:
        if not track.is_drum and track.program in ops.KEYBOARDS:
            for note in track.notes:
                chords.setdefault((track.program, int(note.time)), []).append(int(note.pitch))
    return list(chords.values())


def measure_seconds(score: symusic.Score) -> float:
    return float(score.to("second").end())


# ---- comparison ---------------------------------------------------------------------------------

def key_match(requested: str, measured: str | None) -> str:
    """'exact', 'relative' (same key signature, other mode) or 'wrong'."""
    if measured is None:
        return "wrong"
    req = ops.normalize_key(requested)
    if measured == req:
        return "exact"
    return "relative" if measured == relative_key(req) else "wrong"


def longest_silence(score: symusic.Score, from_bar: int = 0, bars: int | None = None) -> dict[int, int]:
    """{program: the most bars in a row, from bar `from_bar` over `bars` bars (default: to the last), in which
    it sounds no note} for every pitched program that plays; a note held over a bar line sounds in both bars."""
    total = from_bar + bars if bars else measure_bars(score)
    silent: dict[int, int] = {}
    for t in score.tracks:
        if t.is_drum or not t.note_num():
            continue
        a = t.notes.numpy()
        first = bar_numbers(score, a["time"])
        last = bar_numbers(score, a["time"] + np.maximum(a["duration"], 1) - 1)
        sounding = np.zeros(max(total - from_bar, 0), bool)
        for f, l in zip(first - from_bar, last - from_bar):
            sounding[max(f, 0): max(l + 1, 0)] = True
        run = longest = 0
        for heard in sounding:
            run = 0 if heard else run + 1
            longest = max(longest, run)
        silent[t.program] = min(longest, silent.get(t.program, longest))  # two tracks of one program: either
    return silent


def rest_limit(bars: int) -> int:
    """The most bars in a row a part of an ensemble may rest in a piece of `bars` bars (under SILENT_SHARE)."""
    return max(math.ceil(bars * SILENT_SHARE) - 1, 1)


def instruments_hold(requested, measured: list[int]) -> bool:
    """Every instrument asked plays and no other does: a quartet whose melody went to the violin alone fails."""
    return bool(measured) and set(measured) == set(requested)


def adherence_report(score: symusic.Score, controls, bars: int | None = None, mood: str | None = None,
                     prompt_bars: int = 0, mode: str | None = None, voices: int | None = None) -> dict:
    """For each requested control: requested vs measured in the MIDI, and pass/fail.

    `controls` is a tunesmith Controls; `bars` the bars asked for after `prompt_bars` of prompt;
    `mood` a mood word (checked through the measured mode and tempo); `mode` a mode asked without a key;
    `voices` the number of notes asked to sound together (never more, and all of them for VOICES_SHARE of the time).
    """
    report: dict[str, dict] = {}
    c = controls
    needs_key = c.key or mood or mode
    key = measure_key(score) if needs_key else None
    tempos = measure_tempos(score)
    if c.key:
        match = key_match(c.key, key)
        report["key"] = {"requested": ops.normalize_key(c.key), "measured": key, "match": match,
                         "pass": match == "exact", "analyzer": "music21 Krumhansl-Schmuckler"}
    if mode:
        report["mode"] = {"requested": mode, "measured": key, "pass": bool(key) and key.endswith(mode)}
    if c.meter:
        meters = measure_meters(score)
        report["meter"] = {"requested": c.meter, "measured": meters, "pass": meters == [c.meter]}
    if c.tempo:
        bins = sorted({ops.tempo_bin(t) for t in tempos})
        report["tempo"] = {"requested": c.tempo, "measured": tempos, "requested_bin": ops.tempo_bin(c.tempo),
                           "measured_bins": bins, "pass": bool(tempos) and all(abs(t - c.tempo) < 0.5 for t in tempos)}
    if c.instruments:  # what plays in the new music (a MIDI prompt's opening is the user's)
        programs = measure_programs(from_bar(score, prompt_bars))
        report["instruments"] = {"requested": sorted(c.instruments), "measured": programs,
                                 "pass": instruments_hold(c.instruments, programs)}
    if bars:
        measured = measure_bars(score) - prompt_bars
        report["bars"] = {"requested": bars, "measured": measured, "pass": measured == bars}
    pitched = sorted({p for p in c.instruments or () if p >= 0})  # drums (-1) are not a part that rests
    if len(pitched) >= 2:  # an ensemble: every part plays through the piece, not one voice left alone
        length = bars or max(measure_bars(score) - prompt_bars, 1)
        limit = rest_limit(length)
        silent = longest_silence(score, prompt_bars, length)
        rests = {p: silent.get(p, length) for p in pitched}
        report["parts"] = {"requested": pitched, "measured": rests, "limit": limit,
                           "pass": max(rests.values()) <= limit,
                           "rule": f"no instrument asked rests {limit + 1} bars in a row or more, "
                                   f"{SILENT_SHARE:.0%} of the piece (adherence.longest_silence)"}
    if mood:
        tempo = tempos[0] if tempos else None
        report["mood"] = {"requested": mood, "measured": {"key": key, "tempo": tempo},
                          "pass": mood_holds(mood, key, tempo), "rule": "mode and tempo (tunesmith.words.mood_holds)"}
    if voices:
        heard = voices_heard(score, bar_start_tick(score, prompt_bars))
        most, share = max(heard, default=0), heard.get(voices, 0.0)
        report["voices"] = {"requested": voices, "measured": {"most": most, "share": round(share, 3)},
                            "pass": voices_hold(heard, voices),
                            "rule": f"never more than {voices} notes at once, and {voices} for at least "
                                    f"{VOICES_SHARE:.0%} of the time (adherence.voices_heard)"}
    stuck = longest_stuck_run(score, prompt_bars)
    report["stuck"] = {"measured": stuck, "limit": STUCK_BARS - 1, "pass": stuck < STUCK_BARS,
                       "rule": f"the most bars in a row whose two most played pitches make {STUCK_SHARE:.0%} of "
                               "their notes (adherence.longest_stuck_run)"}
    report["valid_midi"] = {"notes": int(score.note_num()), "pass": score.note_num() > 0}
    return report


def all_pass(report: dict) -> bool:
    return all(v.get("pass", True) for v in report.values() if isinstance(v, dict))


def failures(report: dict) -> list[str]:
    return [k for k, v in report.items() if isinstance(v, dict) and not v.get("pass", True)]
