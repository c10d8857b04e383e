"""Per-piece features: MusPy's definitions on real and hand-made pieces, and reading sets of pieces."""

import json
import math

import numpy as np
import pytest
import symusic

from conftest import corpus_score
from tunesmith.errors import BadInputError, TunesmithError
from tunesmith.evaluate.features import (DURATION_CLASSES, FEATURES, HISTOGRAM_FEATURES, INTERVAL_BINS, feature_matrix,
                                         load_set, note_arrays, parse_set_spec, piece_features, set_features)


def make_score(notes, tpq=480, meter=(4, 4)) -> symusic.Score:
    """notes: (onset in quarters, duration in quarters, pitch)."""
    score = symusic.Score(tpq)
    score.time_signatures.append(symusic.TimeSignature(0, *meter))
    track = symusic.Track(program=0)
    for onset, dur, pitch in notes:
        track.notes.append(symusic.Note(int(onset * tpq), int(dur * tpq), pitch, 80))
    score.tracks.append(track)
    return score


def test_scale_features_of_a_c_major_scale():
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    f = piece_features(make_score([(k, 1, p) for k, p in enumerate(scale)]))
    assert f["pitch_range"] == 12 and f["n_pitch_classes"] == 7
    assert f["scale_consistency"] == 1.0
    counts = np.array([2, 1, 1, 1, 1, 1, 1]) / 8
    assert f["pitch_class_entropy"] == pytest.approx(-(counts * np.log2(counts)).sum())
    assert f["polyphony"] == 1.0 and f["polyphony_rate"] == 0.0
    assert f["note_density"] == pytest.approx(1.0) and f["mean_ioi"] == pytest.approx(1.0)
    # both bars have an onset on every beat; MusPy counts one more (empty) bar when a piece ends on a bar line
    assert f["groove_consistency"] == pytest.approx(1 - 4 / (4 * 24 * 2))
    steps = dict(zip(INTERVAL_BINS, f["pitch_interval_hist"]))
    assert steps[2] == pytest.approx(5 / 7) and steps[1] == pytest.approx(2 / 7)
    assert f["duration_hist"][list(DURATION_CLASSES).index("quarter")] == 1.0


def test_chords_rests_and_leaps():
    notes = [(0, 2, 60), (0, 2, 64), (0, 2, 67), (4, 0.5, 84), (4.5, 1.5, 48)]  # a chord, an empty bar half, leaps
    f = piece_features(make_score(notes))
    assert f["pitch_range"] == 36
    assert f["polyphony_rate"] > 0 and f["polyphony"] > 1
    assert f["empty_beat_rate"] > 0  # beats 2-3 of the first bar are silent
    hist = dict(zip(INTERVAL_BINS, f["pitch_interval_hist"]))
    assert hist[12] == pytest.approx(0.5) and hist[-12] == pytest.approx(0.5)  # leaps beyond an octave clip
    durs = dict(zip(DURATION_CLASSES, f["duration_hist"]))
    assert durs["half"] == pytest.approx(3 / 5) and durs["dotted quarter"] == pytest.approx(1 / 5)


def test_features_of_a_real_chorale_are_plausible(chorale):
    f = piece_features(chorale)
    assert set(f) == set(FEATURES)
    assert 20 <= f["pitch_range"] <= 40 and f["scale_consistency"] > 0.85
    assert 3 <= f["polyphony"] <= 4.5 and f["empty_beat_rate"] < 0.05
    for name in HISTOGRAM_FEATURES:
        assert f[name].sum() == pytest.approx(1.0)


def test_a_piece_without_pitched_notes_has_no_features():
    with pytest.raises(TunesmithError):
        piece_features(symusic.Score(480))
    assert set_features([]) == []


def test_midi_folder_with_controls_and_a_broken_file(tmp_path):
    corpus_score("bach/bwv66.6").dump_midi(str(tmp_path / "a.mid"))
    (tmp_path / "a.json").write_text(json.dumps({"controls": {"composer": "bach", "key": None}}))
    (tmp_path / "sub").mkdir()
    make_score([(0, 1, 60), (1, 1, 62)]).dump_midi(str(tmp_path / "sub" / "b.MID"))
    (tmp_path / "broken.mid").write_bytes(b"MThd nonsense")
    (tmp_path / "notes.txt").write_text("ignored")
    s = load_set(tmp_path)
    by_name = {x.name: x for x in s.samples}
    assert sorted(by_name) == ["a.mid", "broken.mid", "sub/b.MID"]
    assert by_name["a.mid"].meta == {"composer": "bach"}
    assert by_name["broken.mid"].score is None and by_name["broken.mid"].error
    feats = set_features(s.samples)
    assert feats[list(by_name).index("broken.mid")] is None
    assert feature_matrix(feats, "pitch_range").shape == (2, 1)
    assert feature_matrix(feats, "duration_hist").shape == (2, len(DURATION_CLASSES))
    assert len(load_set(tmp_path, limit=1).samples) == 1


def test_dataset_splits_as_sets(chorale_dataset):
    path, split = parse_set_spec(f"{chorale_dataset}:train", "validation")
    assert (path, split) == (chorale_dataset, "train")
    assert parse_set_spec(chorale_dataset, "test") == (chorale_dataset, "test")
    train = load_set(chorale_dataset, "train", limit=5, seed=1)
    assert len(train.samples) == 5 and train.label.endswith(":train")
    assert all(s.score is not None and s.meta["composer"] == "bach" for s in train.samples)
    notes = note_arrays(train.samples[0].score)
    assert len(notes.onset) == train.samples[0].meta["n_notes"]
    with pytest.raises(BadInputError):
        load_set(chorale_dataset / "nowhere")
    assert not math.isnan(piece_features(train.samples[0].score)["groove_consistency"])


def test_a_dataset_set_narrowed_by_metadata(chorale_dataset):
    from tunesmith.evaluate.features import split_filter

    assert split_filter(f"{chorale_dataset}:train:collection=bach") == (f"{chorale_dataset}:train", ("collection", "bach"))
    assert split_filter(str(chorale_dataset)) == (str(chorale_dataset), None)
    every = load_set(f"{chorale_dataset}:train")
    bach = load_set(f"{chorale_dataset}:train:collection=bach")
    assert len(bach.samples) == len(every.samples) > 0 and bach.label.endswith("collection=bach")
    with pytest.raises(BadInputError):
        load_set(f"{chorale_dataset}:train:collection=nothing")
