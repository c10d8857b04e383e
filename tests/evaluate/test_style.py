"""The style classifier: excerpts, features, logistic regression, cross-validation and scoring samples."""

import numpy as np
import pytest

import symusic

from tunesmith.evaluate.features import Sample
from tests.conftest import corpus_score
from tunesmith.evaluate.features import bar_quarters
from tunesmith.evaluate.style import (EXCERPT_BARS, Excerpts, accuracy, cross_validate, excerpt_set, excerpts,
                                      fit_classifier, score_samples, style_vector, train_style_classifier)


def test_logistic_regression_separates_separable_classes():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 1, (60, 5)), rng.normal(3, 1, (60, 5)), rng.normal(-3, 1, (60, 5))])
    y = ["a"] * 60 + ["b"] * 60 + ["c"] * 60
    clf = fit_classifier(x, y, "composer")
    assert clf.classes == ["a", "b", "c"]
    report = accuracy(clf, x, y)
    assert report["accuracy"] > 0.95 and report["majority_baseline"] == pytest.approx(1 / 3)
    assert clf.predict(np.full(5, 3.0)) == ["b"]


def test_unbalanced_classes_weigh_the_same():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 1, (300, 4)), rng.normal(1.5, 1, (20, 4))])
    clf = fit_classifier(x, ["big"] * 300 + ["small"] * 20, "composer")
    small = rng.normal(1.5, 1, (200, 4))
    assert np.mean([p == "small" for p in clf.predict(small)]) > 0.7  # not swamped by the big class


def test_excerpts_are_bars_of_the_piece_starting_at_zero(chorale):
    long = chorale.copy()
    for k in range(1, 6):  # six chorales end to end: about 60 bars
        long.tracks[0].notes.extend(chorale.shift_time(k * chorale.end()).tracks[0].notes)
    span = EXCERPT_BARS * bar_quarters(long) * long.ticks_per_quarter
    cuts = excerpts(long)
    assert 1 < len(cuts) <= long.end() // span
    assert all(c.start() >= 0 and c.end() <= span * 1.5 and c.note_num() > 0 for c in cuts)
    short = chorale.clip(0, int(span // 2))
    assert len(excerpts(short)) == 1


def test_style_vector_reads_the_key_relative_to_its_tonic(chorale):
    v = style_vector(chorale)
    assert v.ndim == 1 and np.isfinite(v).all()
    up = style_vector(chorale.shift_pitch(3))
    assert np.allclose(np.roll(v[:12], 3), up[:12])  # the absolute pitch-class histogram moves
    assert np.allclose(v[12:24], up[12:24])  # the tonic-relative one does not
    assert v[12] == max(v[12:24]) or v[12 + 7] == max(v[12:24])  # tonic or dominant weighs most in a chorale


def test_style_vector_and_scoring_samples(chorale):
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


def test_cross_validation_never_judges_an_excerpt_by_its_own_piece():
    """Pieces whose excerpts are identical copies, labelled at random: a classifier that had read the piece
    would get them all right; held out by piece, it can only guess."""
    rng = np.random.default_rng(0)
    rows, labels, piece = [], [], []
    for k in range(60):
        v, label = rng.normal(0, 1, 60), str(rng.choice(["a", "b"]))
        rows += [v] * 4
        labels += [label] * 4
        piece += [k] * 4
    data = Excerpts(np.vstack(rows), labels, np.array(piece))
    assert accuracy(fit_classifier(data.x, labels, "composer", l2=1e-4), data.x, labels)["accuracy"] > 0.9
    cv = cross_validate(data, "composer")
    assert cv["excerpts"] == 240 and cv["accuracy"] < 0.75
    assert sum(r["asked"] for r in cv["per_class"].values()) == 240


def test_bach_and_palestrina_told_apart_on_real_music():
    """Real pieces of the music21 corpus: chorales and Palestrina mass movements, held out by piece."""
    from music21 import corpus

    bach = [f"bach/bwv{n}" for n in ("66.6", "26.6", "2.6", "40.8", "248.12-2", "38.6", "7.7", "227.1", "253", "269")]
    palestrina = sorted(str(p) for p in corpus.getComposer("palestrina"))[:10]
    samples = [Sample(n, corpus_score(n), {"composer": "bach"}) for n in bach]
    samples += [Sample(p, corpus_score(p), {"composer": "palestrina"}) for p in palestrina]
    data = excerpt_set(samples, "composer")
    assert len(np.unique(data.piece)) == 20 and len(data.labels) >= 20
    cv = cross_validate(data, "composer")
    assert cv["accuracy"] >= 0.9, cv["per_class"]
    clf = fit_classifier(data.x[data.piece > 0], [l for l, p in zip(data.labels, data.piece) if p > 0], "composer")
    assert score_samples(clf, samples[:1])["share_as_asked"] == 1.0  # BWV 66.6, not trained on


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
    assert report["excerpt_bars"] == EXCERPT_BARS and report["train_excerpts"] >= report["train_pieces"]
    assert report["crossval"]["accuracy"] == 1.0 and set(report["crossval"]["per_class"]) == {"hymn", "jig"}
