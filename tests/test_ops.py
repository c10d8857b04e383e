import numpy as np
import pytest

from tunesmith import ops


@pytest.mark.parametrize("text,expected", [
    ("D minor", "D minor"), ("E- minor", "Eb minor"), ("F# major", "F# major"), ("Gb major", "F# major"),
    ("c", "C minor"), ("A", "A major"), ("Bbm", "Bb minor"), ("D_minor", "D minor"), ("c# minor", "C# minor"),
])
def test_normalize_key(text, expected):
    assert ops.normalize_key(text) == expected


def test_parse_key_rejects_nonsense():
    with pytest.raises(ValueError, match="not a key"):
        ops.parse_key("H minor please")


def test_transpose_key_wraps_around():
    assert ops.transpose_key("A minor", 3) == "C minor"
    assert ops.transpose_key("C major", -1) == "B major"
    assert len(set(ops.all_keys())) == 24


def test_tempo_bins_follow_text2midi_boundaries():
    assert [ops.tempo_bin(b) for b in (30, 40, 59.9, 60, 100, 139, 140, 200, 250)] == [0, 1, 1, 2, 4, 5, 6, 7, 8]
    for i in range(9):
        assert ops.tempo_bin(ops.tempo_bin_center(i)) == i


def test_shift_tokens_in_range_and_allowed_shifts():
    ids = np.array([1, 10, 12, 50, 19])
    assert ops.shift_tokens_in_range(ids, 10, 20, 2).tolist() == [1, 12, 14, 50, 21]
    shifts = ops.allowed_shifts(ids, 10, 20, 5)
    assert min(shifts) == 0 and max(shifts) == 0  # 10 is the floor, 19 the ceiling
    assert ops.allowed_shifts(np.array([12, 15]), 10, 20, 5) == [-2, -1, 0, 1, 2, 3, 4]


def test_pitch_class_durations_weighs_each_note_of_a_real_chorale_by_its_length(chorale):
    from tunesmith.data.metadata import estimate_key_from_histogram, pitch_class_histogram
    from tunesmith.tokenizer import Tokenizer

    tok = Tokenizer()
    hist = ops.pitch_class_durations(tok.encode_music(chorale), *tok.note_tables)
    # REMI keeps BWV 66.6's quarter and eighth notes exactly, so the token histogram is the score's own
    assert np.allclose(hist, pitch_class_histogram(chorale), atol=1e-6)
    assert estimate_key_from_histogram(hist) == "F# minor"


def test_fits_two_hands_on_real_piano_music():
    """Every onset of Mozart's K. 545 (first movement) and Schoenberg's op. 19/2 fits two hands; clusters and
    spreads no pianist can strike do not."""
    from conftest import corpus_score

    for name in ("mozart/k545/movement1", "schoenberg/opus19/movement2"):
        score = corpus_score(name)
        chords = {}
        for track in score.tracks:
            for n in track.notes:
                chords.setdefault(n.time, []).append(n.pitch)
        assert len(chords) > 40 and all(ops.fits_two_hands(c) for c in chords.values()), name
    assert ops.fits_two_hands([36, 43, 48, 52, 72, 76, 79, 84])  # a tenth-wide chord in each hand
    assert not ops.fits_two_hands([36, 60, 84])  # three notes two octaves apart: three hands
    assert not ops.fits_two_hands(range(60, 71))  # eleven notes: eleven fingers
    assert ops.fits_two_hands([48, 65, 82], span=17) and not ops.fits_two_hands([48, 65, 82], span=16)
