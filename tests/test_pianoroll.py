"""Piano-roll pictures: PNG output, width growing with length, one colour per track, axes."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import symusic
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from music21 import corpus, midi

from tunesmith import pianoroll
from tunesmith.errors import TunesmithError
from tunesmith.pianoroll import pianoroll_figure, pitch_name, save_pianoroll, track_styles

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def chorale() -> symusic.Score:
    s = corpus.parse("bach/bwv66.6")
    return symusic.Score.from_midi(midi.translate.music21ObjectToMidiFile(s).writestr())


def looped(score: symusic.Score, times: int) -> symusic.Score:
    """`score` played `times` times in a row."""
    result = score.copy()
    for k in range(1, times):
        shifted = score.shift_time(k * score.end())
        for track, extra in zip(result.tracks, shifted.tracks):
            track.notes.extend(extra.notes)
    return result


def with_drums(score: symusic.Score) -> symusic.Score:
    """`score` plus an unnamed string track and a drum track."""
    result = score.copy()
    strings = symusic.Track("", 48, False)
    drums = symusic.Track("Kit", 0, True)
    for beat in range(int(score.end() // score.tpq)):
        drums.notes.append(symusic.Note(beat * score.tpq, score.tpq // 8, 36 if beat % 2 == 0 else 38, 100))
    strings.notes.append(symusic.Note(0, score.end(), 48, 60))
    result.tracks.append(strings)
    result.tracks.append(drums)
    return result


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_save_pianoroll_writes_a_png(chorale, tmp_path):
    target = tmp_path / "rolls" / "bach.png"
    path = save_pianoroll(chorale, target, title="BWV 66.6")
    assert path == target and path.stat().st_size > 5000
    width, height = png_size(path)
    assert width >= pianoroll.MIN_WIDTH * pianoroll.DPI and height >= pianoroll.MIN_HEIGHT * pianoroll.DPI
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_picture_width_grows_with_length_up_to_a_cap(chorale, tmp_path):
    short = png_size(save_pianoroll(chorale.clip(0, 4 * 4 * chorale.tpq), tmp_path / "short.png"))
    medium = png_size(save_pianoroll(looped(chorale, 4), tmp_path / "medium.png"))
    long = png_size(save_pianoroll(looped(chorale, 12), tmp_path / "long.png"))
    assert short[0] < medium[0] <= long[0]
    assert long[0] <= pianoroll.MAX_WIDTH * pianoroll.DPI


def test_max_seconds_draws_only_the_beginning(chorale):
    piece = looped(chorale, 6)
    full = pianoroll_figure(piece)
    start = pianoroll_figure(piece, max_seconds=20)
    assert start.get_figwidth() < full.get_figwidth()
    seconds_per_quarter = 60 / chorale.tempos[0].qpm
    assert start.axes[0].get_xlim()[1] == pytest.approx(20 / seconds_per_quarter, rel=0.01)


def test_one_colour_per_track(chorale):
    score = with_drums(chorale)
    styles = track_styles(score)
    assert [s.index for s in styles] == [0, 1, 2, 3, 4, 5]
    assert len({s.colour for s in styles}) == len(styles)

    figure = pianoroll_figure(score)
    notes = [c for c in figure.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(notes) == len(styles)
    for collection, style in zip(notes, styles):
        faces = collection.get_facecolors()
        assert len(faces) == len(score.tracks[style.index].notes)
        assert np.allclose(faces[:, :3], to_rgb(style.colour))
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend == [s.label for s in styles]


def test_legend_names_tracks_and_instruments(chorale):
    labels = [s.label for s in track_styles(with_drums(chorale))]
    assert labels[0] == "Soprano (Acoustic Grand Piano)"
    assert labels[4] == "String Ensemble 1"  # unnamed track: its General MIDI instrument
    assert labels[5] == "Kit (Drums)"


def test_velocity_sets_opacity():
    score = symusic.Score(480)
    track = symusic.Track("", 0, False)
    track.notes.append(symusic.Note(0, 480, 60, 30))
    track.notes.append(symusic.Note(480, 480, 62, 127))
    score.tracks.append(track)
    faces = pianoroll_figure(score).axes[0].collections[-1].get_facecolors()
    assert faces[0, 3] < faces[1, 3] == pytest.approx(1.0)


def test_a_note_doubled_by_other_tracks_shows_every_colour_as_a_stripe(chorale):
    """A real chorale's soprano doubled in unison by a flute and its bass by a tuba: where two tracks strike the
    same note together, each gets a stripe of the bar (before, the later hid the earlier)."""
    score = chorale.copy()
    for program, voice in ((73, 0), (58, 3)):
        double = symusic.Track("", program, False)
        double.notes.extend(chorale.tracks[voice].notes)
        score.tracks.append(double)
    figure = pianoroll_figure(score)
    bars = [c for c in figure.axes[0].collections if isinstance(c, PolyCollection)]
    heights = [np.ptp(np.asarray(path.vertices)[:, 1]) for path in bars[0].get_paths()]  # the soprano's notes
    assert max(heights) < 0.43 and np.median(heights) == pytest.approx(0.42)  # it shares every note with the
    #                                                                         flute (and a unison with the alto)
    flute = np.asarray(bars[4].get_paths()[0].vertices)[:, 1]
    soprano = np.asarray(bars[0].get_paths()[0].vertices)[:, 1]
    assert flute.min() == pytest.approx(soprano.max())  # the flute's stripe sits on the soprano's
    alto = [np.ptp(np.asarray(path.vertices)[:, 1]) for path in bars[1].get_paths()]
    assert np.median(alto) == pytest.approx(0.84)  # undoubled: the whole bar


def test_pitch_axis_shows_note_names_over_the_range_used(chorale):
    ax = pianoroll_figure(chorale).axes[0]
    pitches = np.concatenate([t.notes.numpy()["pitch"] for t in chorale.tracks])
    low, high = ax.get_ylim()
    assert low <= pitches.min() - 1 and high >= pitches.max() + 1
    assert high - low <= pitches.max() - pitches.min() + 2 * pianoroll.PITCH_MARGIN + 1.01
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "C4" in labels and all(label[0] in "CDEFGAB" for label in labels)


def test_x_axis_counts_bars_from_the_time_signature(chorale):
    ax = pianoroll_figure(chorale).axes[0]
    bars = 36 / 4  # the chorale is 36 quarters long in 4/4
    assert ax.get_xlim() == pytest.approx((0, 4 * bars))
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["1", "2", "3"]


def test_bar_lines_follow_time_signature_changes():
    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    score.time_signatures.append(symusic.TimeSignature(480 * 6, 6, 8))
    track = symusic.Track("", 0, False)
    track.notes.append(symusic.Note(0, 480 * 12, 60, 90))
    score.tracks.append(track)
    bars, _ = pianoroll._bar_grid(score.to("quarter"), 12.0)
    assert bars == [0.0, 3.0, 6.0, 9.0, 12.0]


@pytest.mark.parametrize("pitch, name", [(60, "C4"), (61, "C#4"), (21, "A0"), (108, "C8"), (0, "C-1")])
def test_pitch_name(pitch, name):
    assert pitch_name(pitch) == name


def test_empty_score_has_nothing_to_draw(tmp_path):
    with pytest.raises(TunesmithError, match="nothing to draw"):
        save_pianoroll(symusic.Score(480), tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()


def test_max_seconds_must_be_positive(chorale):
    with pytest.raises(TunesmithError, match="max_seconds"):
        pianoroll_figure(chorale, max_seconds=0)


def test_pyplot_state_is_left_alone(chorale, tmp_path):
    backend = matplotlib.get_backend()
    save_pianoroll(chorale, tmp_path / "bach.png")
    assert matplotlib.get_backend() == backend
