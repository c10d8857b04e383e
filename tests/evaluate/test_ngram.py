"""The n-gram baseline: a proper distribution, better with more context, and a one-line CLI."""

import math

import numpy as np
import pytest

from tunesmith.cli import main
from tunesmith.evaluate.ngram import NGram, evaluate_ngram


def test_probabilities_sum_to_one_over_the_vocabulary():
    rng = np.random.default_rng(0)
    stream = rng.integers(0, 12, 500)
    model = NGram(3, 12).fit(stream)
    context = np.array([3, 5])
    total = sum(math.exp(-model.token_nll(np.append(context, w))[0]) for w in range(12))
    assert abs(total - 1) < 1e-9


def test_more_context_helps_on_real_chorales(chorale_dataset):
    uni = evaluate_ngram(str(chorale_dataset), order=1, split="validation")
    tri = evaluate_ngram(str(chorale_dataset), order=3, split="validation")
    assert tri["tokens"] == uni["tokens"] > 0 and tri["notes"] > 0
    assert tri["nll_per_token"] < uni["nll_per_token"] < math.log(1000)


def test_cli(chorale_dataset, capsys, tmp_path):
    main(["evaluate", "ngram", str(chorale_dataset), "--order", "3", "--split", "validation",
          "--out", str(tmp_path / "ngram.json")])
    assert "3-gram" in capsys.readouterr().out and (tmp_path / "ngram.json").is_file()
    with pytest.raises(SystemExit):
        main(["evaluate", "ngram", str(chorale_dataset), "--order", "9"])
    assert "too high" in capsys.readouterr().err
