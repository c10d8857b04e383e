"""The beat grid of transcribed notes: tempo maps that ride out tracker slips and follow real tempo
changes, and the quantisation grid chosen from the onsets."""

import numpy as np
import pytest

from tunesmith.beat_tracking import TempoMap, choose_grid, tempo_map


def test_tempo_map_keeps_one_tempo_through_a_tracker_slip():
    beats = 0.2 + 0.5 * np.arange(40)
    beats[20:24] += 0.125  # the tracker follows an off-beat for four beats, then comes back
    tempos = tempo_map(beats, 0.2)
    assert len(tempos.period) == 1 and 60 / tempos.period[0] == pytest.approx(120, abs=0.5)
    assert tempos.time[0] == pytest.approx(0.2, abs=0.01)
    times = np.array([0.0, 1.234, 19.9])
    assert tempos.seconds(tempos.position(times)) == pytest.approx(times)


def test_tempo_map_follows_a_tempo_change():
    beats = np.concatenate([0.5 * np.arange(20), 9.5 + 0.625 * np.arange(1, 21)])  # 120 BPM, then 96
    tempos = tempo_map(beats, 0.0)
    assert [round(60 / p) for p in tempos.period] == [120, 96]
    assert tempos.position([9.5 + 0.625 * 10])[0] == pytest.approx(29, abs=0.05)


def test_choose_grid_finds_triplets_and_sixteenths():
    tempos = TempoMap(np.array([0]), np.array([0.0]), np.array([0.5]))
    sixteenths = np.arange(64) * 0.125 + np.random.default_rng(0).normal(0, 0.004, 64)
    assert choose_grid(sixteenths, tempos) == 4
    triplets = np.arange(48) * 0.5 / 3
    assert choose_grid(triplets, tempos) in (6, 12)
