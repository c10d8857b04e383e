"""Beats and tempo of transcribed notes: the beat tracker, the tempo map its beats become, the
quantisation grid and the bar phase (steps 4-6 of tunesmith.transcribe's clean-up).

A tempo map holds one tempo while the tracked beats keep it (within TEMPO_TOLERANCE of a beat) and
starts a new one where they move away for good, so a score quantised on it still plays in time with
the recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tunesmith.errors import MissingAudioExtra

if TYPE_CHECKING:
    from tunesmith.transcribe import NoteEvent

DEFAULT_TEMPO = 120.0
ENVELOPE_FPS = 100  # frames per second of the onset envelope the beat tracker reads
LOCAL_TEMPO_SECONDS = 8.0  # the beat tracker's local tempo is a running median over this long
TEMPO_TOLERANCE = 0.05  # of a beat: how far a tracked beat may lie from its tempo's and still count
STEADY_FRACTION = 0.85  # of a segment's beats that must count for its tempo to hold
AUTO_GRIDS = (4, 6, 8, 12)  # the ones grid=0 chooses from
GRID_JITTER = 0.02  # seconds: the timing noise choose_grid allows an onset on its step


@dataclass(frozen=True)
class TempoMap:
    """Beat times as constant-tempo segments: segment i starts at beat `beat[i]`, time `time[i]`, and
    lasts `period[i]` seconds per beat until the next one. Beats may be negative (before the first)."""

    beat: np.ndarray  # int beat index where each segment starts (increasing)
    time: np.ndarray  # seconds at that beat
    period: np.ndarray  # seconds per beat in the segment

    def position(self, seconds: np.ndarray) -> np.ndarray:
        """Beat position (float) of recording times."""
        seconds = np.asarray(seconds, dtype=np.float64)
        i = np.clip(np.searchsorted(self.time, seconds, side="right") - 1, 0, len(self.time) - 1)
        return self.beat[i] + (seconds - self.time[i]) / self.period[i]

    def seconds(self, beats: np.ndarray) -> np.ndarray:
        """Recording times of beat positions."""
        beats = np.asarray(beats, dtype=np.float64)
        i = np.clip(np.searchsorted(self.beat, beats, side="right") - 1, 0, len(self.beat) - 1)
        return self.time[i] + (beats - self.beat[i]) * self.period[i]


def onset_envelope(notes: list[NoteEvent], duration: float, fps: int = ENVELOPE_FPS) -> np.ndarray:
    """Velocity-weighted note onsets at `fps` frames per second, lightly smoothed."""
    envelope = np.zeros(int(np.ceil(duration * fps)) + 8)
    for note in notes:
        envelope[min(max(int(round(note.start * fps)), 0), len(envelope) - 1)] += note.velocity / 127.0
    return np.convolve(envelope, [0.25, 0.5, 1.0, 0.5, 0.25], mode="same")


def track_beats(notes: list[NoteEvent], duration: float, tempo: float | None = None) -> np.ndarray:
    """Beat times (seconds) from the notes' onsets by librosa's dynamic-programming beat tracker.

    The onset envelope is built from the notes, so it is as polyphonic as the transcription. The
    tracker follows a local tempo (librosa's per-frame estimate, folded by octaves onto the global
    one and median-filtered over LOCAL_TEMPO_SECONDS), so a piece that changes tempo keeps its beats.
    `tempo` fixes the tempo instead.
    """
    if len(notes) < 4:
        return np.zeros(0)
    try:
        import librosa
        from scipy.ndimage import median_filter
    except ImportError as exc:
        raise MissingAudioExtra(exc.name or "librosa") from None
    envelope = onset_envelope(notes, duration)
    frames = {"sr": ENVELOPE_FPS * 441, "hop_length": 441}
    if tempo:
        bpm: float | np.ndarray = float(tempo)
    else:
        overall = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=envelope, start_bpm=DEFAULT_TEMPO,
                                                            **frames))[0])
        local = np.asarray(librosa.feature.tempo(onset_envelope=envelope, aggregate=None, start_bpm=DEFAULT_TEMPO,
                                                 **frames), dtype=np.float64).ravel()
        octaves = np.log2(np.maximum(local, 1.0) / overall)
        folded = np.log2(overall) + octaves - np.round(octaves)
        bpm = 2.0 ** median_filter(folded, size=int(LOCAL_TEMPO_SECONDS * ENVELOPE_FPS) + 1, mode="nearest")
    _, beats = librosa.beat.beat_track(onset_envelope=envelope, units="time", trim=False, bpm=bpm, **frames)
    return np.asarray(beats, dtype=np.float64)


def _fit_beats(k: np.ndarray, t: np.ndarray, anchor: float | None, tolerance: float) -> tuple[float, float, np.ndarray]:
    """(time of beat 0, seconds per beat, inlier mask) of beat times `t` at beat numbers `k`, by least
    squares refitted on the inliers (within `tolerance` of a beat). `anchor` fixes the time of beat 0."""
    inliers = np.ones(len(k), dtype=bool)
    start, period = (anchor if anchor is not None else float(t[0])), 0.0
    for _ in range(4):
        kk, tt = k[inliers], t[inliers]
        if anchor is None and len(kk) >= 2 and np.ptp(kk) > 0:
            period, start = (float(x) for x in np.polyfit(kk, tt, 1))
        elif anchor is not None and np.any(kk):
            period = float(np.dot(tt - anchor, kk) / np.dot(kk, kk))
        else:
            break
        if period <= 0:
            return start, period, np.zeros(len(k), dtype=bool)
        found = np.abs(t - start - k * period) <= tolerance * period
        if found.sum() < 2 or (found == inliers).all():
            break
        inliers = found
    return start, period, np.abs(t - start - k * period) <= tolerance * max(period, 1e-9)


def _split_cost(beats: np.ndarray, a: int, c: int, b: int, tolerance: float) -> float:
    """Squared misfit (capped per beat) of beats a..c and c..b, each fitted with its own tempo."""
    cost = 0.0
    for first, last in ((a, c), (c, b)):
        k = np.arange(last + 1 - first, dtype=np.float64)
        start, period, _ = _fit_beats(k, beats[first:last + 1], None, tolerance)
        if period <= 0:
            return float("inf")
        error = (beats[first:last + 1] - start - k * period) / period
        cost += float(np.minimum(error ** 2, tolerance ** 2).sum())
    return cost


def _steady(k: np.ndarray, t: np.ndarray, anchor: float | None, tolerance: float) -> bool:
    """Whether beats keep one tempo: most of them fit it, and the last two do not both stray."""
    _, period, inliers = _fit_beats(k, t, anchor, tolerance)
    if period <= 0 or inliers.mean() < STEADY_FRACTION:
        return False
    return not (len(inliers) >= 4 and not inliers[-1] and not inliers[-2])


def tempo_map(beats: np.ndarray, first_note: float, tempo: float | None = None,
              tolerance: float = TEMPO_TOLERANCE) -> TempoMap:
    """A tempo map through tracked beat times: as few constant-tempo segments as keep them.

    Beat trackers now and then follow an off-beat for a few beats; a segment therefore holds while
    STEADY_FRACTION of its beats lie within `tolerance` of a beat of its tempo (fitted by trimmed
    least squares) and ends where the beats move away for good. Runs of greedy segments are then
    merged wherever one tempo fits them all, and fitted again, each starting where the previous ends.

    With fewer than 4 beats there is nothing to follow: one tempo (`tempo`, else 120 BPM) with a beat
    on the first note.
    """
    beats = np.asarray(beats, dtype=np.float64)
    if len(beats) < 4:
        period = 60.0 / (tempo or DEFAULT_TEMPO)
        return TempoMap(np.array([0]), np.array([first_note]), np.array([period]))
    bounds, first = [0], 0
    while first < len(beats) - 1:
        end = first + 1
        while end + 1 < len(beats) and _steady(np.arange(end + 2 - first, dtype=np.float64),
                                               beats[first:end + 2], float(beats[first]), tolerance):
            end += 1
        bounds.append(end)
        first = end
    merged = True
    while merged and len(bounds) > 2:  # join runs of up to 4 segments that one tempo fits after all
        merged = False
        for span in (4, 3, 2):
            for i in range(len(bounds) - span):
                a, b = bounds[i], bounds[i + span]
                _, period, inliers = _fit_beats(np.arange(b + 1 - a, dtype=np.float64), beats[a:b + 1], None,
                                                tolerance)
                if period > 0 and inliers.mean() >= STEADY_FRACTION:
                    del bounds[i + 1:i + span]
                    merged = True
                    break
            if merged:
                break
    for i in range(1, len(bounds) - 1):  # move each change of tempo to the beat where it fits best
        low, high = max(bounds[i - 1] + 2, bounds[i] - 3), min(bounds[i + 1] - 2, bounds[i] + 3)
        if low <= high:
            bounds[i] = min(range(low, high + 1), key=lambda c: _split_cost(beats, bounds[i - 1], c, bounds[i + 1],
                                                                            tolerance))
    starts, times, periods = [], [], []
    anchor = None
    for a, b in zip(bounds[:-1], bounds[1:]):
        start, period, _ = _fit_beats(np.arange(b + 1 - a, dtype=np.float64), beats[a:b + 1], anchor, tolerance)
        if period <= 0:
            period = float(np.median(np.diff(beats)))
            start = anchor if anchor is not None else float(beats[a])
        starts.append(a)
        times.append(start)
        periods.append(period)
        anchor = start + (b - a) * period
    return TempoMap(np.array(starts), np.array(times), np.array(periods))


def choose_grid(onsets: np.ndarray, tempos: TempoMap, candidates: tuple[int, ...] = AUTO_GRIDS,
                jitter: float = GRID_JITTER) -> int:
    """The grid (steps per beat) that explains the onsets in the fewest nats: each onset costs the
    log of the steps per beat (which step) plus its distance to the step as Gaussian timing noise of
    `jitter` seconds (capped). A finer grid wins only where many onsets fall between coarser steps."""
    onsets = np.asarray(onsets, dtype=np.float64)
    if len(onsets) == 0:
        return candidates[0]
    positions = tempos.position(onsets)
    costs = []
    for grid in candidates:
        error = onsets - tempos.seconds(np.round(positions * grid) / grid)
        costs.append(float(np.mean(np.minimum(error ** 2 / (2 * jitter ** 2), 20.0))) + float(np.log(grid)))
    return candidates[int(np.argmin(costs))]


def bar_phase(onsets: np.ndarray, weights: np.ndarray, beats_per_bar: int) -> int:
    """Which beat (0 .. beats_per_bar-1, as an integer beat position modulo the bar) is the downbeat:
    the one where the most weight starts (weights: note lengths in beats, capped at a bar). A guess:
    on the notes of 71 Bach chorales (most open with a pickup) it finds the notated downbeat 68% of the time."""
    if beats_per_bar <= 1 or len(onsets) == 0:
        return 0
    on_beat = np.abs(onsets - np.round(onsets)) < 1e-6
    totals = np.zeros(beats_per_bar)
    np.add.at(totals, np.round(onsets[on_beat]).astype(int) % beats_per_bar, weights[on_beat])
    return int(np.argmax(totals))
