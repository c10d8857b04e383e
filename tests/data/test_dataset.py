"""Training sequences: controls first, windows start at bars, transposition keeps the key consistent."""

import random

import numpy as np

from tunesmith import ops
from tunesmith.data.dataset import Dataset, Piece, SequenceOptions, collate, training_sequence, window_key
from tunesmith.tokenizer import Controls, Tokenizer


def test_sequence_layout_and_window(chorale_dataset):
    ds = Dataset(chorale_dataset)
    tok = ds.tokenizer()
    piece = max(ds.pieces("train"), key=lambda p: len(p.ids))
    opts = SequenceOptions(max_len=256, transpose=0, control_dropout=0.0)
    seq = training_sequence(piece, tok, opts, random.Random(0))[0]
    assert len(seq) <= 256 and seq[0] == tok.bos_id
    n = 1
    while tok.is_control(seq[n]):
        n += 1
    assert n == len(tok.control_ids(Controls.from_meta(piece.meta)))
    assert seq[n] == tok.bar_id  # the window opens at a bar line


def test_transposition_moves_pitches_and_key_together(chorale_dataset):
    ds = Dataset(chorale_dataset)
    tok = ds.tokenizer()
    piece = next(p for p in ds.pieces("train") if p.meta.get("key"))
    opts = SequenceOptions(max_len=100_000, transpose=6, control_dropout=0.0)
    plain = training_sequence(piece, tok, SequenceOptions(100_000, 0, 0.0), random.Random(0))[0]
    lo, hi = tok.pitch_id_range
    seen_shift = False
    for seed in range(10):
        seq = training_sequence(piece, tok, opts, random.Random(seed))[0]
        pitches = [t for t in seq if lo <= t < hi]
        base = [t for t in plain if lo <= t < hi]
        shift = pitches[0] - base[0]
        assert np.all(np.array(pitches) - np.array(base) == shift)
        key = next(tok.id_to_token[t] for t in seq if tok.type_of[t] == "Key").split("_", 1)[1].replace("_", " ")
        assert key == ops.transpose_key(piece.meta["key"], shift)
        seen_shift |= shift != 0
    assert seen_shift


def test_window_key_follows_the_notes_of_the_window(chorale, monkeypatch):
    tok = Tokenizer()
    ids = tok.encode_music(chorale).astype(np.int64)  # BWV 66.6, F# minor
    lo, hi = tok.pitch_id_range
    assert window_key(ids, tok, "F# minor") == "F# minor"
    assert window_key(ids, tok, "C# minor") == "F# minor"  # correlation 0.65 against F# minor's 0.82
    monkeypatch.setattr("tunesmith.data.dataset.WINDOW_KEY_TOLERANCE", 0.2)
    assert window_key(ids, tok, "C# minor") == "C# minor"  # within the tolerance the piece's key stays
    monkeypatch.undo()
    assert window_key(ops.shift_tokens_in_range(ids, lo, hi, 3), tok, "F# minor") == "A minor"
    assert window_key(ids, tok, None) is None  # a piece without a key is not given one
    opening = ids[:24]  # a few notes, under WINDOW_KEY_MIN_BEATS: too little to judge, the piece's key stays
    assert 0 < ops.pitch_class_durations(opening, *tok.note_tables).sum() < 8
    assert window_key(ops.shift_tokens_in_range(opening, lo, hi, 3), tok, "F# minor") == "F# minor"


def test_training_windows_are_labelled_with_the_key_music21_hears_in_them(chorale_dataset):
    """Chorales modulate: a window's Key control should name the key of the window, not the piece's."""
    from tunesmith.adherence import measure_key

    ds = Dataset(chorale_dataset)
    tok = ds.tokenizer()
    pieces = [p for p in ds.pieces("train") if p.meta.get("key") and len(p.ids) > 250]
    hits = {True: 0, False: 0}
    for own_key in (True, False):
        opts = SequenceOptions(max_len=160, transpose=0, control_dropout=0.0, window_key=own_key)
        for i, piece in enumerate(pieces[:12]):
            seq = training_sequence(piece, tok, opts, random.Random(i))[0]
            label = next(tok.value_of(t) for t in seq if tok.type_of[t] == "Key").replace("_", " ")
            if not own_key:
                assert label == ops.normalize_key(piece.meta["key"])
            hits[own_key] += measure_key(tok.decode(seq)) == label
    assert hits[True] >= 10 and hits[True] > hits[False], hits


def test_control_dropout_leaves_controls_out():

    tok = Tokenizer()
    piece = Piece({"key": "C major", "time_signatures": ["4/4"], "tempo": 100, "programs": [0]},
                  np.array([tok.bar_id], dtype=np.uint16))
    lengths = {len(training_sequence(piece, tok, SequenceOptions(64, 0, 0.5), random.Random(s))[0]) for s in range(40)}
    assert len(lengths) > 2


def test_collate_masks_padding_and_controls():
    batch = collate([[1, 600, 3, 4, 5], [1, 3, 4]], pad_id=0, prefix_lens=[2, 1])
    assert batch["labels"].tolist() == [[-100, -100, 3, 4, 5], [-100, 3, 4, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
