"""Tests for tunesmith.data.metadata: content hash, key estimation, PieceMeta, label normalisation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import symusic
from music21 import corpus

from tunesmith.data.load import music21_to_symusic
from tunesmith.data.metadata import (
    PieceMeta,
    content_hash,
    duration_seconds,
    estimate_key,
    estimate_key_from_histogram,
    format_key,
    genre_from_title,
    initial_tempo,
    kern_key,
    keys_for_signature,
    normalize_composer,
    normalize_genre,
    pitch_class_histogram,
    program_list,
    time_signature_list,
)


@pytest.fixture(scope="module")
def chorale_m21():
    return corpus.parse("bach/bwv66.6")


@pytest.fixture(scope="module")
def chorale(chorale_m21) -> symusic.Score:
    return music21_to_symusic(chorale_m21)


def all_notes(score: symusic.Score) -> list[symusic.Note]:
    return [n for t in score.tracks for n in t.notes]


# --- content hash -------------------------------------------------------------------------------


def test_hash_ignores_transposition_tempo_and_velocity(chorale):
    base = content_hash(chorale)
    assert content_hash(chorale.shift_pitch(5)) == base
    assert content_hash(chorale.shift_pitch(-3)) == base
    faster = chorale.copy()
    faster.tempos = [symusic.Tempo(0, 150.0)]
    assert content_hash(faster) == base
    assert content_hash(chorale.shift_velocity(-20)) == base


def test_hash_ignores_ticks_per_quarter_and_leading_silence(chorale):
    base = content_hash(chorale)
    assert content_hash(chorale.resample(480)) == base
    assert content_hash(chorale.resample(96)) == base
    assert content_hash(chorale.shift_time(chorale.ticks_per_quarter * 3)) == base


def test_hash_ignores_track_split_and_instruments(chorale):
    merged = symusic.Score(chorale.ticks_per_quarter)
    one = symusic.Track(program=0, is_drum=False, name="all")
    for n in sorted(all_notes(chorale), key=lambda n: (n.time, n.pitch)):
        one.notes.append(n)
    merged.tracks.append(one)
    assert content_hash(merged) == content_hash(chorale)
    by_pitch = symusic.Score(chorale.ticks_per_quarter)
    low = symusic.Track(program=40, is_drum=False, name="low")
    high = symusic.Track(program=71, is_drum=False, name="high")
    for n in all_notes(chorale):
        (low if n.pitch < 60 else high).notes.append(n)
    by_pitch.tracks.extend([high, low])
    assert content_hash(by_pitch) == content_hash(chorale)


def test_hash_differs_for_other_music(chorale):
    other = music21_to_symusic(corpus.parse("bach/bwv1.6"))
    assert content_hash(other) != content_hash(chorale)
    changed = chorale.copy()
    changed.tracks[0].notes[3].pitch += 1
    assert content_hash(changed) != content_hash(chorale)
    longer = chorale.copy()
    longer.tracks[1].notes[0].duration *= 2
    assert content_hash(longer) != content_hash(chorale)


def test_hash_same_harmonisation_from_two_formats():
    # the same chorale as MusicXML (tpq 10080 via music21) and as a MIDI re-encoding at tpq 480
    m21 = corpus.parse("bach/bwv66.6")
    a = music21_to_symusic(m21)
    b = symusic.Score.from_midi(a.resample(480).dumps_midi())
    assert content_hash(a) == content_hash(b)


def test_hash_of_empty_score_is_stable():
    assert content_hash(symusic.Score(480)) == content_hash(symusic.Score(96))


# --- key estimation -------------------------------------------------------------------------------


def _music21_histogram(s) -> np.ndarray:
    """The pitch-class histogram music21's key analyzers use (quarter lengths of every pitch)."""
    hist = np.zeros(12)
    for el in s.flatten().notes:
        for p in el.pitches:
            hist[p.pitchClass] += float(el.quarterLength)
    return hist


CORPUS_PIECES = ["bach/bwv66.6", "bach/bwv1.6", "bach/bwv133.6", "bach/bwv412", "bach/bwv174.5",
                 "palestrina/Agnus_07", "essenFolksong/test0", "bach/bwv57.8"]


@pytest.mark.parametrize("name", CORPUS_PIECES)
def test_histogram_key_agrees_with_music21_krumhansl(name):
    s = corpus.parse(name)
    if hasattr(s, "scores") and s.scores:
        s = s.scores[0]
    ref = s.analyze("key.krumhansl")  # note: analyze('key') is music21's Aarden-Essen analyzer
    assert estimate_key_from_histogram(_music21_histogram(s)) == format_key(ref.tonic.name, ref.mode)


@pytest.mark.parametrize("name", ["bach/bwv66.6", "bach/bwv133.6", "bach/bwv412", "palestrina/Agnus_07"])
def test_score_key_agrees_with_music21_krumhansl(name):
    s = corpus.parse(name)  # pieces without repeats: the symusic score holds the same notes
    ref = s.analyze("key.krumhansl")
    assert estimate_key(music21_to_symusic(s)) == format_key(ref.tonic.name, ref.mode)


def test_histogram_of_score_weights_by_duration(chorale):
    hist = pitch_class_histogram(chorale)
    assert hist.shape == (12,)
    total_quarters = sum(n.duration for n in all_notes(chorale)) / chorale.ticks_per_quarter
    assert hist.sum() == pytest.approx(total_quarters)


def test_key_restricted_to_a_signature():
    a_minor = np.zeros(12)
    for pc, w in {9: 5, 11: 2, 0: 3, 2: 2, 4: 4, 5: 2, 8: 2}.items():  # A minor with G#
        a_minor[pc] = w
    assert estimate_key_from_histogram(a_minor) == "A minor"
    assert estimate_key_from_histogram(a_minor, fifths=0) == "A minor"
    assert estimate_key_from_histogram(a_minor, fifths=-3) in {"Eb major", "C minor"}
    assert keys_for_signature(-3) == ("Eb major", "C minor")
    assert keys_for_signature(6) == ("F# major", "D# minor")
    assert keys_for_signature(-6) == ("Gb major", "Eb minor")
    assert estimate_key_from_histogram(np.zeros(12)) == "C major"


def test_format_key():
    assert format_key("B-", "major") == "Bb major"
    assert format_key("f#", "minor") == "F# minor"
    assert format_key("D", "mixolydian") == "D major"
    assert format_key("A", "dorian") == "A minor"


def test_kern_key():
    assert kern_key("**kern\n*k[]\n*A:aeo\n4a\n*-\n").annotated == "A minor"
    assert kern_key("**kern\t**kern\n*c#:\t*c#:\n").annotated == "C# minor"
    assert kern_key("**kern\n*E-:\n").annotated == "Eb major"
    assert kern_key("**kern\n*k[f#]\n4g\n") is None


# --- measurements -------------------------------------------------------------------------------


def test_measurements(chorale):
    assert time_signature_list(chorale) == ["4/4"]
    assert time_signature_list(symusic.Score(480)) == ["4/4"]
    assert initial_tempo(chorale) == pytest.approx(96.0)
    assert initial_tempo(symusic.Score(480)) == 120.0
    score = symusic.Score(480)
    drums = symusic.Track(program=0, is_drum=True, name="d")
    drums.notes.append(symusic.Note(480, 240, 36, 100))
    piano = symusic.Track(program=5, is_drum=False, name="p")
    piano.notes.append(symusic.Note(960, 480, 60, 100))
    score.tracks.extend([piano, drums, symusic.Track(program=33, is_drum=False, name="empty")])
    score.tempos.append(symusic.Tempo(0, 60.0))
    score.time_signatures.extend([symusic.TimeSignature(0, 3, 4), symusic.TimeSignature(960, 2, 4),
                                  symusic.TimeSignature(1920, 3, 4)])
    score.tempos.append(symusic.Tempo(48000, 60.0))  # a late event does not count towards duration
    assert program_list(score) == [-1, 5]
    assert time_signature_list(score) == ["3/4", "2/4"]
    assert duration_seconds(score) == pytest.approx(2.0)  # 1 s (first onset) to 3 s (last end)


# --- PieceMeta ----------------------------------------------------------------------------------


def test_piece_meta_round_trip():
    meta = PieceMeta(
        source="music21:bach/bwv66.6.mxl", index=0, collection="bach", composer="bach", title=None,
        genre="chorale", key="F# minor", key_source="annotated", time_signatures=["4/4"], tempo=96.0,
        programs=[52], duration=22.5, n_notes=163, content_hash="ba99720b8c00c29f",
        labels={"source_set": "test"},
    )
    assert meta.piece_id == "music21:bach/bwv66.6.mxl#0"
    d = json.loads(json.dumps(meta.to_dict()))
    assert PieceMeta.from_dict(d) == meta
    assert PieceMeta.from_dict({**d, "piece_id": "ignored"}) == meta
    d["labels"] = None
    assert PieceMeta.from_dict(d).labels == {}


# --- labels -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,slug", [
    ("J.S. Bach", "bach"), ("Johann Sebastian Bach", "bach"), ("Bach, Johann Sebastian", "bach"),
    ("Palestrina, Giovanni Perluigi da", "palestrina"), ("Chopin, Frederic", "chopin"),
    ("Frédéric Chopin", "chopin"), ("Mrs. H.H.A. Beach (Amy Beach)\nOp. 75, No. 4", "beach"),
    ("Carl Philipp Emanuel Bach", "cpebach"), ("Josquin des Prez", "josquin"), ("Trad.", "trad"),
    ("Anonymous GB-Lbm 29987", "anonymous"), ("Gherardello F-Pn 568", "gherardello"),
    ("Saint-Saëns, Camille", "saint-saens"), ("Camille Saint-Saëns", "saint-saens"), ("Music21", None),
    ("chopin", "chopin"), ("", None), (None, None),
])
def test_normalize_composer(name, slug):
    assert normalize_composer(name) == slug


def test_genres():
    assert normalize_genre("Reel") == "reel"
    assert normalize_genre(" slipjig ") == "slip jig"
    assert normalize_genre("Liebes - Lied") == "liebes-lied"
    assert normalize_genre("???") is None and normalize_genre("") is None
    assert genre_from_title("LARRY GROGAN'S -- JIG") == "jig"
    assert genre_from_title("The Boys of Ballisodare (Reel)") == "reel"
    assert genre_from_title("Mazurka in C-sharp Minor, Op. 6, No. 2") == "mazurka"
    assert genre_from_title("Fare You Well") is None
    assert genre_from_title(None) is None
