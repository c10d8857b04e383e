"""Piano-roll pictures of a `symusic.Score`: one coloured bar per note, bars and pitch names on the axes.

Drawn with matplotlib's object API (`Figure` + the Agg canvas), so the user's pyplot backend
and global state are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import symusic
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MultipleLocator, NullFormatter

from tunesmith.errors import TunesmithError
from tunesmith.fileio import atomic_path

DPI = 100
INCHES_PER_QUARTER = 0.11  # horizontal scale before the width limits apply
MIN_WIDTH, MAX_WIDTH = 8.0, 40.0  # figure width in inches
MIN_HEIGHT, MAX_HEIGHT = 4.0, 11.0
INCHES_PER_SEMITONE = 0.09
PITCH_MARGIN = 2  # semitones shown above and below the notes used
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
)  # fmt: skip
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
BLACK_KEYS = {1, 3, 6, 8, 10}
NOTHING_TO_DRAW = "nothing to draw: the score has no notes"


@dataclass(frozen=True)
class TrackStyle:
    """How one track is drawn: its index in `score.tracks`, legend label and colour."""

    index: int
    label: str
    colour: str


@dataclass
class _Notes:
    """One track's notes in quarter notes: start, duration, pitch, velocity."""

    style: TrackStyle
    start: np.ndarray
    duration: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray


def save_pianoroll(
    score: symusic.Score,
    path: str | Path,
    title: str | None = None,
    max_seconds: float | None = None,
) -> Path:
    """Draw `score` as a piano roll and write it to `path` as PNG (atomic write)."""
    path = Path(path)
    figure = pianoroll_figure(score, title=title, max_seconds=max_seconds)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI)
    return path


def pianoroll_figure(
    score: symusic.Score,
    title: str | None = None,
    max_seconds: float | None = None,
) -> Figure:
    """A matplotlib Figure with the piano roll of `score` (only its first `max_seconds` if given).

    The x-axis counts bars (from the score's time signatures) with the time in m:ss on top; the
    y-axis names pitches (C4 = MIDI 60). Each track has its own colour; velocity sets opacity.
    """
    quarters = score.to("quarter")
    tempo_map = _TempoMap(quarters)
    cut = None if max_seconds is None else _cut_quarters(tempo_map, max_seconds)
    tracks = _track_notes(quarters, cut)
    end = max(float((t.start + t.duration).max()) for t in tracks)
    bars, beats = _bar_grid(quarters, end)
    bar_end = next((b for b in bars if b >= end - 1e-6), end)  # finish the last bar
    x_end = bar_end if cut is None else min(bar_end, cut)
    low, high = _pitch_range(tracks)

    width = float(np.clip(2.5 + INCHES_PER_QUARTER * x_end, MIN_WIDTH, MAX_WIDTH))
    height = float(np.clip(1.6 + INCHES_PER_SEMITONE * (high - low), MIN_HEIGHT, MAX_HEIGHT))
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    inches_per_quarter = (width - 1.0) / max(x_end, 1e-9)  # about 1 inch goes to the pitch labels

    _draw_keyboard_rows(ax, low, high)
    _draw_grid(ax, bars, beats, x_end, inches_per_quarter)
    for track, stripes in zip(tracks, _stripes(tracks)):
        _draw_notes(ax, track, min_width=0.02 / inches_per_quarter, stripes=stripes)
    ax.set_xlim(0, x_end)
    ax.set_ylim(low - 0.5, high + 0.5)
    _label_pitches(ax, low, high)
    _label_bars(ax, bars, x_end, inches_per_quarter)
    _add_time_axis(ax, tempo_map, x_end, width)
    figure.legend(
        handles=[Patch(facecolor=t.style.colour, label=t.style.label) for t in tracks],
        loc="outside lower center",
        ncols=min(len(tracks), max(int(width // 2.2), 1)),
        frameon=False,
        fontsize="small",
    )
    if title:
        ax.set_title(title, loc="left")
    return figure


def track_styles(score: symusic.Score) -> list[TrackStyle]:
    """Colour and legend label for every track that has notes, in track order."""
    styles = []
    for index, track in enumerate(score.tracks):
        if len(track.notes) == 0:
            continue
        colour = PALETTE[len(styles) % len(PALETTE)]
        styles.append(TrackStyle(index, _track_label(track), colour))
    return styles


def _track_label(track) -> str:
    """'Name (Instrument)', or just the instrument when the track has no name of its own."""
    instrument = "Drums" if track.is_drum else _instrument_name(track.program)
    name = track.name.strip()
    if not name or name.lower() == instrument.lower():
        return instrument
    return f"{name} ({instrument})"


def _instrument_name(program: int) -> str:
    """General MIDI instrument name of `program` (0-127)."""
    try:
        from pretty_midi import program_to_instrument_name
    except ImportError:  # pretty_midi is a dependency, but a label is not worth failing over
        return f"Program {program}"
    try:
        return program_to_instrument_name(int(program))
    except ValueError:
        return f"Program {program}"


# --------------------------------------------------------------------------- data


class _TempoMap:
    """Converts between quarter notes and seconds with the score's tempo changes."""

    def __init__(self, quarters: symusic.Score):
        points = sorted((float(t.time), float(t.qpm)) for t in quarters.tempos) or [(0.0, 120.0)]
        if points[0][0] > 0:
            points.insert(0, (0.0, 120.0))
        self.quarter = np.array([q for q, _ in points])
        self.qpm = np.array([qpm for _, qpm in points])
        spans = np.diff(self.quarter) * 60.0 / self.qpm[:-1]
        self.second = np.concatenate([[0.0], np.cumsum(spans)])

    def seconds(self, quarter):
        """Seconds at `quarter` (scalar or array)."""
        q = np.asarray(quarter, dtype=float)
        i = np.clip(np.searchsorted(self.quarter, q, side="right") - 1, 0, len(self.quarter) - 1)
        return self.second[i] + (q - self.quarter[i]) * 60.0 / self.qpm[i]

    def quarters(self, second):
        """Quarter notes at `second` (scalar or array)."""
        s = np.asarray(second, dtype=float)
        i = np.clip(np.searchsorted(self.second, s, side="right") - 1, 0, len(self.second) - 1)
        return self.quarter[i] + (s - self.second[i]) * self.qpm[i] / 60.0


def _cut_quarters(tempo_map: _TempoMap, max_seconds: float) -> float:
    if not max_seconds > 0:
        raise TunesmithError(f"max_seconds must be positive, got {max_seconds!r}")
    return float(tempo_map.quarters(max_seconds))


def _track_notes(quarters: symusic.Score, cut: float | None) -> list[_Notes]:
    """Each track's notes as arrays, notes from `cut` (quarters) on left out and clipped at it."""
    tracks = []
    for style in track_styles(quarters):
        notes = quarters.tracks[style.index].notes.numpy()
        start, duration = notes["time"].astype(float), notes["duration"].astype(float)
        keep = np.ones(len(start), dtype=bool) if cut is None else start < cut
        if cut is not None:
            duration = np.minimum(start + duration, cut) - start
        if keep.any():
            tracks.append(
                _Notes(style, start[keep], duration[keep], notes["pitch"][keep].astype(int), notes["velocity"][keep])
            )
    if not tracks:
        raise TunesmithError(NOTHING_TO_DRAW if cut is None else f"{NOTHING_TO_DRAW} in the time asked for")
    return tracks


def _bar_grid(quarters: symusic.Score, end: float) -> tuple[list[float], list[float]]:
    """Bar and beat positions (quarters) from the time signatures, up to the first bar at or after `end`."""
    changes = {float(ts.time): (int(ts.numerator), int(ts.denominator)) for ts in quarters.time_signatures}
    if 0.0 not in changes:
        changes[0.0] = (4, 4)
    times = sorted(changes)
    bars, beats = [], []
    position = 0.0
    while True:
        numerator, denominator = changes[max(t for t in times if t <= position + 1e-9)]
        beat = 4.0 / denominator
        bar_length = max(numerator * beat, 1e-3)
        bars.append(position)
        if position >= end - 1e-6:
            break
        beats.extend(position + beat * k for k in range(1, numerator))
        following = next((t for t in times if t > position + 1e-9), None)
        position += bar_length
        if following is not None and position > following + 1e-9:
            position = following  # a time signature in mid-bar starts a new bar
    return bars, beats


def _pitch_range(tracks: list[_Notes]) -> tuple[int, int]:
    low = min(int(t.pitch.min()) for t in tracks) - PITCH_MARGIN
    high = max(int(t.pitch.max()) for t in tracks) + PITCH_MARGIN
    return max(low, 0), min(high, 127)


def pitch_name(pitch: int) -> str:
    """Scientific pitch name: 60 -> 'C4', 61 -> 'C#4'."""
    return f"{PITCH_CLASSES[pitch % 12]}{pitch // 12 - 1}"


# --------------------------------------------------------------------------- drawing


def _draw_keyboard_rows(ax, low: int, high: int) -> None:
    """Shade the rows of black keys and draw a line under each C, like a DAW's piano roll."""
    for pitch in range(low, high + 1):
        if pitch % 12 in BLACK_KEYS:
            ax.axhspan(pitch - 0.5, pitch + 0.5, color="#f2f2f2", zorder=0, linewidth=0)
        elif pitch % 12 == 0:
            ax.axhline(pitch - 0.5, color="#c8c8c8", linewidth=0.6, zorder=0.5)


def _draw_grid(ax, bars: list[float], beats: list[float], x_end: float, inches_per_quarter: float) -> None:
    """Bar lines; beat lines too where beats are far enough apart to tell apart."""
    for x in bars:
        if x <= x_end:
            ax.axvline(x, color="#9a9a9a", linewidth=0.7, zorder=1)
    if inches_per_quarter >= 0.09:
        for x in beats:
            if x <= x_end:
                ax.axvline(x, color="#e0e0e0", linewidth=0.5, zorder=0.8)


def _stripes(tracks: list[_Notes]) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each track, each note's (place, count) among the tracks that strike the same pitch at the same time:
    a note doubled by three instruments is drawn as three stripes, one in each colour, not one bar hiding two."""
    keys = [list(zip(np.round(track.start, 4).tolist(), track.pitch.tolist())) for track in tracks]
    sharing: dict[tuple[float, int], list[int]] = {}
    for k, notes in enumerate(keys):
        for key in notes:
            holders = sharing.setdefault(key, [])
            if not holders or holders[-1] != k:
                holders.append(k)
    return [(np.array([sharing[key].index(k) for key in notes], dtype=float),
             np.array([len(sharing[key]) for key in notes], dtype=float)) for k, notes in enumerate(keys)]


def _draw_notes(ax, track: _Notes, min_width: float, stripes: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """One bar per note (a stripe of it, `stripes` = (place, count), where other tracks strike the same note);
    opacity follows velocity."""
    x0 = track.start
    x1 = track.start + np.maximum(track.duration, min_width)
    place, count = stripes if stripes is not None else (np.zeros(len(x0)), np.ones(len(x0)))
    y0 = track.pitch - 0.42 + 0.84 * place / count
    y1 = y0 + 0.84 / count
    vertices = np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1), np.stack([x0, y1], 1)], 1)
    red, green, blue, _ = to_rgba(track.style.colour)
    faces = np.empty((len(x0), 4))
    faces[:] = (red, green, blue, 1.0)
    faces[:, 3] = 0.3 + 0.7 * np.clip(track.velocity.astype(float), 0, 127) / 127
    notes = PolyCollection(vertices, facecolors=faces, edgecolors=[(red * 0.6, green * 0.6, blue * 0.6, 0.9)])
    notes.set_linewidth(0.4)
    notes.set_zorder(2)
    ax.add_collection(notes)


def _label_pitches(ax, low: int, high: int) -> None:
    """Pitch names on the y-axis: every C, or every white key when the range is small."""
    if high - low <= 18:
        ticks = [p for p in range(low, high + 1) if p % 12 not in BLACK_KEYS]
    else:
        ticks = [p for p in range(low, high + 1) if p % 12 == 0]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda p, _: pitch_name(int(round(p)))))
    ax.yaxis.set_minor_locator(FixedLocator(range(low, high + 1)))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("pitch")


def _label_bars(ax, bars: list[float], x_end: float, inches_per_quarter: float) -> None:
    """Bar numbers (from 1) under the bar lines, thinned out so that labels do not collide."""
    shown = [b for b in bars if b <= x_end + 1e-9]
    spacing = np.median(np.diff(shown)) * inches_per_quarter if len(shown) > 1 else 1.0
    step = 1
    while spacing * step < 0.3:
        step *= 2
    ticks = [(x, n + 1) for n, x in enumerate(shown) if n % step == 0 and (n == 0 or x < x_end - 1e-9)]
    ax.xaxis.set_major_locator(FixedLocator([x for x, _ in ticks]))
    labels = {x: str(n) for x, n in ticks}
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: labels.get(x, "")))
    ax.set_xlabel("bar")


def _add_time_axis(ax, tempo_map: _TempoMap, x_end: float, width: float) -> None:
    """Elapsed time (m:ss) along the top."""
    top = ax.secondary_xaxis("top", functions=(tempo_map.seconds, tempo_map.quarters))
    total = float(tempo_map.seconds(x_end))
    target = max(total / max(width * 1.2, 1.0), 1.0)  # about one label per 0.8 inch
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300) if s >= target), 600)
    top.xaxis.set_major_locator(MultipleLocator(step))
    top.xaxis.set_major_formatter(FuncFormatter(lambda s, _: f"{int(s // 60)}:{int(round(s % 60)):02d}"))
    top.tick_params(labelsize="small", colors="#555555")
