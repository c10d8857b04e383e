"""Bar lines from a beat annotation: a real chorale misplaced the way POP909's files are, then put back."""

import numpy as np
import pytest
import symusic
from music21 import corpus

from tunesmith.data.beats import bars_from_beats, rebar, seconds_to_ticks
from tunesmith.data.load import load_midi, music21_to_symusic
from tunesmith.data.sources import SourceFile


@pytest.fixture(scope="module")
def chorale() -> symusic.Score:
    return music21_to_symusic(corpus.parse("bach/bwv66.6"), "bach")


def onsets(score: symusic.Score) -> np.ndarray:
    return np.sort(np.concatenate([t.notes.numpy()["time"] for t in score.tracks]))


def misplaced(score: symusic.Score, offset: int) -> symusic.Score:
    """The music `offset` ticks late, in placeholder 1/4 bars, at 60 BPM (a quarter = one second)."""
    out = score.shift_time(offset)
    out.time_signatures = [symusic.TimeSignature(0, 1, 4)]
    out.tempos = [symusic.Tempo(0, 60.0)]
    return out


def annotation(tpq: int, offset: int, beats: int, downbeats: list[int]) -> str:
    """POP909's beat_midi.txt lines (seconds, beat flag, downbeat flag) for quarter beats from `offset`."""
    return "\n".join(f"{(offset + k * tpq) / tpq:.6f} {float(k % 2 == 0)} {float(k in downbeats)}"
                     for k in range(beats)) + "\n"


def test_annotated_downbeats_become_bar_lines_and_the_music_lands_on_the_beat_grid(chorale, tmp_path):
    tpq, offset = chorale.tpq, 221  # song 100 of POP909 sits 221 ticks of 480 late
    late = misplaced(chorale, offset)
    assert np.mean(onsets(late) % tpq == 0) < 0.1  # hardly a note on a beat
    # one beat of pickup, then 4-beat bars with one 2-beat bar (beats 9-10)
    downbeats = [1, 5, 9, 11, 15, 19, 23]
    song = tmp_path / "100"
    song.mkdir()
    late.dump_midi(song / "100.mid")
    (song / "beat_midi.txt").write_text(annotation(tpq, offset, 26, downbeats))

    (score, meta), = load_midi(SourceFile(str(song / "100.mid"), "pop909/100", "pop909")).pieces
    # the first downbeat (beat 1, tick 221 + 480) moves to the end of the first 4/4 bar: 3 quarters later
    # than the original chorale, every note exactly on the original's grid
    assert np.array_equal(onsets(score), onsets(chorale) + 3 * tpq)
    assert [(ts.time, ts.numerator, ts.denominator) for ts in score.time_signatures] == [
        (0, 4, 4), (12 * tpq, 2, 4), (14 * tpq, 4, 4)]
    assert meta.bars_source == "bars from beat_midi.txt" and meta.time_signatures == ["4/4", "2/4"]
    assert score.tempos[0].time == 0 and meta.tempo == pytest.approx(60.0)


def test_the_annotation_is_used_only_where_it_fits(chorale, tmp_path):
    tpq = chorale.tpq
    late = misplaced(chorale, 100)
    lone, shared, broken = (tmp_path / name for name in ("lone", "shared", "broken"))
    for folder in (lone, shared, broken):
        folder.mkdir()
        late.dump_midi(folder / "a.mid")
    (lone / "beat_midi.txt").write_text(annotation(tpq, 100, 12, [0, 4, 8]))
    late.dump_midi(shared / "b.mid")  # two songs in one folder: whose beats would these be?
    (shared / "beat_midi.txt").write_text(annotation(tpq, 100, 12, [0, 4, 8]))
    (broken / "beat_midi.txt").write_text("beats: unknown\n")
    sources = {name: SourceFile(str(folder / "a.mid"), f"{name}/a.mid", "songs")
               for name, folder in (("lone", lone), ("shared", shared), ("broken", broken))}
    metas = {name: load_midi(src).pieces[0][1] for name, src in sources.items()}
    assert metas["lone"].time_signatures == ["4/4"]
    assert metas["shared"].bars_source == "file" and metas["shared"].time_signatures == ["1/4"]
    assert metas["broken"].time_signatures == ["1/4"] and metas["broken"].bars_source.startswith(
        "own bars kept: beat_midi.txt unusable")


def test_beats_off_the_files_quarter_notes_are_refused(chorale):
    tpq = chorale.tpq
    eighths = np.arange(16) * tpq / 2.0
    with pytest.raises(ValueError, match="not quarter notes"):
        bars_from_beats(eighths, np.arange(16) % 4 == 0, tpq)
    with pytest.raises(ValueError, match="a bar of 13 beats"):
        rebar(misplaced(chorale, 0), np.arange(20.0), np.isin(np.arange(20), [0, 13]))


def test_seconds_follow_the_tempo_map():
    score = symusic.Score(480)
    score.tempos = [symusic.Tempo(0, 60.0), symusic.Tempo(960, 120.0)]  # 2 s of 60 BPM, then twice as fast
    assert seconds_to_ticks(score, np.array([0.0, 1.0, 2.0, 2.5])).tolist() == pytest.approx([0, 480, 960, 1440])
