"""Model NLL: sliding windows score every token once; figures per token, per note, per group."""

import math
from contextlib import nullcontext

import numpy as np
import pytest
import torch

from tunesmith.data.dataset import Dataset
from tunesmith.errors import TunesmithError
from tunesmith.evaluate.likelihood import (LN2, PieceNLL, evaluate_model, format_nll_table, grouped, nll_figures,
                                           pieces_nll, windows)
from tunesmith.generate import load
from tunesmith.train import evaluate_loss, validation_batches


class Fp32Cpu:
    """What evaluate_loss uses of an Accelerator (accelerate's state is one per process: tests cannot make new ones)."""

    device = torch.device("cpu")

    def autocast(self):
        return nullcontext()


@pytest.mark.parametrize("n,stride", [(5, None), (20, 3), (23, 7), (40, 100)])
def test_windows_score_every_token_once_with_context(n, stride):
    prefix, music, max_len = [100, 101], list(range(n)), 10
    room = max_len - len(prefix)
    scored = []
    for k, (seq, start) in enumerate(windows(prefix, music, max_len, stride)):
        assert seq[:2] == prefix and len(seq) <= max_len
        if k:  # after the first window, at least room - stride tokens of music before the scored ones
            assert start - len(prefix) >= room - min(stride or room // 2, room)
        scored += seq[start:]
    assert scored == music
    with pytest.raises(TunesmithError):
        list(windows(list(range(9)), music, 10))


def test_nll_figures_and_groups():
    rows = [PieceNLL({"composer": "a"}, 10.0, 5, 2), PieceNLL({"composer": "b"}, 6.0, 3, 1), PieceNLL({}, 2.0, 2, 0)]
    f = nll_figures(rows)
    assert f["nll_per_token"] == pytest.approx(1.8) and f["nll_per_note"] == pytest.approx(6.0)
    assert f["bits_per_note"] == pytest.approx(6.0 / LN2)
    g = grouped(rows, "composer")
    assert set(g) == {"a", "b", "(none)"} and math.isnan(g["(none)"]["nll_per_note"])


def test_same_figure_as_training_validation_when_pieces_fit(tiny_model, chorale_dataset):
    folder, _ = tiny_model
    model = load(folder)
    data = Dataset(chorale_dataset)
    pieces = data.pieces("train")[:3]
    whole = 4096  # every piece in one window: both must then score exactly the same tokens
    ours = pieces_nll(model.model, model.tokenizer, pieces, whole, precision="fp32")
    theirs = evaluate_loss(model.model, validation_batches(pieces, model.tokenizer, whole, 8, 10**9), Fp32Cpu())
    assert nll_figures(ours)["nll_per_token"] == pytest.approx(theirs, rel=1e-4)
    assert [r.notes for r in ours] == [p.meta["n_notes"] for p in pieces]


def test_evaluate_model_on_a_split(tiny_model, chorale_dataset):
    folder, _ = tiny_model
    result = evaluate_model(folder, chorale_dataset, "train", stride=128, limit=3, precision="fp32")
    overall = result["overall"]
    assert overall["pieces"] == 3 and 0 < overall["nll_per_token"] < math.log(1000)
    assert overall["bits_per_note"] == pytest.approx(overall["nll_per_note"] / np.log(2))
    assert list(result["by_composer"]) == ["bach"]
    table = format_nll_table(result)
    assert "bits/note" in table and "all" in table
