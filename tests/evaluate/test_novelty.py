"""Novelty: REMI note reading, the n-gram index (exact longest shared passage), and validity."""

import numpy as np
import pytest
import symusic

from tunesmith.data.dataset import Dataset
from tunesmith.errors import BadInputError
from tunesmith.evaluate.features import Sample
from tunesmith.evaluate.novelty import (NGRAM, Match, NgramIndex, RemiReader, check_validity, index_dataset,
                                        novelty_summary, sample_match, score_symbols, symbols_of, validity_summary)
from tunesmith.tokenizer import Tokenizer


def make_score(pitches, step=0.5, tpq=480, meter=(4, 4), start=0.0) -> symusic.Score:
    score = symusic.Score(tpq)
    score.time_signatures.append(symusic.TimeSignature(0, *meter))
    track = symusic.Track(program=0)
    for k, p in enumerate(pitches):
        track.notes.append(symusic.Note(int((start + k * step) * tpq), int(step * tpq), int(p), 80))
    score.tracks.append(track)
    return score


def test_remi_reader_matches_miditok_decoding(chorale_dataset):
    data = Dataset(chorale_dataset)
    tok = data.tokenizer()
    reader = RemiReader(tok)
    for piece in data.pieces("train")[:6]:
        assert np.array_equal(symbols_of(*reader.notes(piece.ids)), score_symbols(tok.decode(piece.ids)))


@pytest.mark.parametrize("meter", [(6, 8), (3, 4), (2, 2), (5, 8)])
def test_remi_reader_in_other_meters_and_a_meter_change(meter):
    tok = Tokenizer()
    score = make_score(np.random.default_rng(0).integers(50, 80, 48), step=0.25, meter=meter)
    score.time_signatures.append(symusic.TimeSignature(480 * 6, 3, 4))
    ids = tok.encode_music(score)
    assert np.array_equal(symbols_of(*RemiReader(tok).notes(ids)), score_symbols(tok.decode(ids)))


def random_melody(seed: int, n: int = 200) -> np.ndarray:
    return 60 + np.cumsum(np.random.default_rng(seed).integers(-4, 5, n)) % 24


def test_index_finds_the_longest_shared_passage_transposed():
    corpus = {f"piece{k}": random_melody(k) for k in range(30)}
    index = NgramIndex.from_pieces((name, symbols_of(np.arange(len(p)) * 0.5, p)) for name, p in corpus.items())
    copied = corpus["piece17"][40:80] + 5  # 40 notes, transposed up a fourth
    # two octaves and more below: leaps into and out of the copy that no corpus piece has
    sample = np.concatenate([random_melody(999, 30) - 60, copied, random_melody(998, 30) - 60])
    match = sample_match(index, make_score(sample))
    assert (match.piece, match.piece_note, match.sample_note, match.notes) == ("piece17", 40, 30, 40)
    assert match.bars == pytest.approx(40 * 0.5 / 4)
    fresh = sample_match(index, make_score(random_melody(12345, 60)))
    assert fresh.notes == 0 and fresh.piece is None


def test_rhythm_matters_and_passages_never_join_two_pieces():
    a, b = random_melody(1, 20), random_melody(2, 20)
    index = NgramIndex.from_pieces([("a", symbols_of(np.arange(20) * 0.5, a)), ("b", symbols_of(np.arange(20) * 0.5, b))])
    assert index.longest_match(symbols_of(np.arange(20) * 0.5, a)).notes == 20
    assert index.longest_match(symbols_of(np.arange(20) * 0.25, a)).notes == 0  # same pitches, other rhythm
    joined = np.concatenate([a, b])  # a then b in one sample: the longest passage is one of them, not both
    assert index.longest_match(symbols_of(np.arange(40) * 0.5, joined)).notes == 20


def test_index_of_a_dataset_and_save_load(chorale_dataset, tmp_path):
    index = index_dataset(chorale_dataset)
    data = Dataset(chorale_dataset)
    piece = data.pieces("train")[3]
    whole = index.longest_match(score_symbols(data.tokenizer().decode(piece.ids)))
    assert whole.notes == piece.meta["n_notes"] and whole.sample_note == 0
    index.save(tmp_path / "index.npz")
    again = NgramIndex.load(tmp_path / "index.npz")
    assert len(again) == len(index) and again.names == index.names
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(BadInputError):
        NgramIndex.load(tmp_path / "bad.npz")


def test_novelty_summary():
    s = novelty_summary([Match(0), Match(40, bars=5.0), Match(12, bars=1.5)])
    assert s["median_longest_notes"] == 12 and s["max_longest_notes"] == 40
    assert s["share_copying"] == pytest.approx(1 / 3) and s["min_detectable_notes"] == NGRAM + 1


def test_validity():
    good = check_validity(Sample("ok", make_score(range(60, 76))))
    assert good.valid and good.problem is None
    assert not check_validity(Sample("broken", None, error="bad MIDI")).decodes
    empty = check_validity(Sample("empty", symusic.Score(480)))
    assert empty.decodes and not empty.non_empty and not empty.valid
    gap = make_score([60, 62, 64, 65], step=1.0)
    gap.tracks[0].notes.append(symusic.Note(480 * 12, 480, 67, 80))  # bars 2 and 3 silent
    assert "2 empty bars" in check_validity(Sample("gap", gap)).problem
    jitter = make_score([60, 62], step=1.0)
    jitter.tracks[0].notes.append(symusic.Note(480 * 2 + 7, 480, 64, 80))  # 7 ticks off any grid
    assert "off the" in check_validity(Sample("jitter", jitter)).problem
    summary = validity_summary([good, empty])
    assert summary["valid"] == 0.5 and summary["decodes"] == 1.0 and summary["problems"] == ["no pitched notes"]
    looped = check_validity(Sample("loop", make_score([60, 62, 64, 65] + [74, 73] * 40, step=0.25)))
    assert looped.valid and looped.stuck_bars == 5 and good.stuck_bars == 0  # valid music, but a sampler's loop
    assert validity_summary([good, looped, empty])["stuck"] == pytest.approx(1 / 3)
    smash = make_score([60, 62, 64, 65])
    for p in (36, 60, 84):  # three notes two octaves apart at once: three hands
        smash.tracks[0].notes.append(symusic.Note(480 * 4, 480, p, 80))
    hit = check_validity(Sample("smash", smash))
    assert (hit.unplayable, hit.keyboard_onsets) == (1, 5) and good.unplayable == 0
    assert validity_summary([good, hit])["unplayable"] == pytest.approx(1 / (good.keyboard_onsets + 5))
