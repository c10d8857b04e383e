"""The style classifier: logistic regression, its held-out report, and scoring samples."""

import numpy as np
import pytest

import symusic

from tunesmith.evaluate.features import Sample
from tunesmith.evaluate.style import accuracy, fit_classifier, score_samples, style_vector, train_style_classifier


def test_logistic_regression_separates_separable_classes():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 1, (60, 5)), rng.normal(3, 1, (60, 5)), rng.normal(-3, 1, (60, 5))])
    y = ["a"] * 60 + ["b"] * 60 + ["c"] * 60
    clf = fit_classifier(x, y, "composer")
    assert clf.classes == ["a", "b", "c"]
    report = accuracy(clf, x, y)
    assert report["accuracy"] > 0.95 and report["majority_baseline"] == pytest.approx(1 / 3)
    assert clf.predict(np.full(5, 3.0)) == ["b"]


def test_style_vector_and_scoring_samples(chorale):
    v = style_vector(chorale)
    assert v.shape == (12 + 25 + 12 + 7,) and np.isfinite(v).all()
    folk = symusic.Score(480)  # a one-line tune: nothing like a four-part chorale
    track = symusic.Track(program=0)
    for k, p in enumerate([67, 69, 71, 72, 74, 72, 71, 69, 67, 64, 62, 60] * 2):
        track.notes.append(symusic.Note(k * 240, 240, p, 80))
    folk.tracks.append(track)
    x = np.vstack([style_vector(chorale), style_vector(folk)])
    clf = fit_classifier(np.repeat(x, 5, axis=0), ["bach", "folk"] * 5, "composer")
    samples = [Sample("c", chorale, {"composer": "bach"}), Sample("f", folk, {"composer": "bach"}),
               Sample("n", folk, {}), Sample("u", folk, {"composer": "mozart"})]
    scored = score_samples(clf, samples)
    assert scored["asked"] == 2 and scored["share_as_asked"] == 0.5
    assert scored["per_class"] == {"bach": {"asked": 2, "as_asked": 1, "classified_as": {"bach": 1, "folk": 1}}} and scored["unknown_labels"] == ["mozart"]


def test_one_label_is_not_enough(chorale_dataset):
    clf, report = train_style_classifier(chorale_dataset, "composer")
    assert clf is None and "fewer than two" in report["skipped"]


def write_styles(folder, per_label: int = 12) -> None:
    """Two made-up composers in sub-folders: 'hymn' (slow four-part chords), 'jig' (fast one-line tunes)."""
    rng = np.random.default_rng(0)
    for k in range(per_label):
        hymn, jig = symusic.Score(480), symusic.Score(480)
        for voice, base in enumerate((72, 65, 57, 48)):
            track = symusic.Track(program=52)
            for beat in range(16):
                track.notes.append(symusic.Note(beat * 480, 480, int(base + rng.integers(-2, 3) + k % 5), 70))
            hymn.tracks.append(track)
        track = symusic.Track(program=73)
        for step in range(48):
            track.notes.append(symusic.Note(step * 160, 160, int(74 + rng.integers(-7, 8)), 90))
        jig.tracks.append(track)
        for name, score in (("hymn", hymn), ("jig", jig)):
            (folder / name).mkdir(parents=True, exist_ok=True)
            score.dump_midi(str(folder / name / f"{name}{k}.mid"))


def test_classifier_trained_on_a_dataset_with_two_composers(tmp_path, cache_dir):
    from tunesmith.data.build import build_dataset

    write_styles(tmp_path / "midi")
    build_dataset([str(tmp_path / "midi")], tmp_path / "ds", workers=1, cache_dir=cache_dir, progress=False)
    clf, report = train_style_classifier(tmp_path / "ds", "composer", seed=0)
    assert clf.classes == ["hymn", "jig"]
    held = report["heldout"]
    assert held["pieces"] >= 2 and held["accuracy"] == 1.0 and "fifth" in held["source"]
