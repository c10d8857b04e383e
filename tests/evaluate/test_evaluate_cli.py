"""The evaluate / listen-test / bench commands through argparse, as the lead will wire them."""

import argparse
import json

import numpy as np
import pytest

from tunesmith.cli import main
from tunesmith.evaluate.cli import add_commands


def parse(argv):
    parser = argparse.ArgumentParser(prog="tunesmith")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_commands_are_registered():
    assert parse(["evaluate", "model", "m", "--data", "d"]).split == "test"
    assert parse(["evaluate", "samples", "g", "--reference", "r", "--out", "o"]).style_field == "composer"
    assert parse(["listen-test", "make", "a", "b", "--out", "o"]).pairs == 20
    assert parse(["listen-test", "score", "kit", "r1.csv", "r2.csv"]).ratings == ["r1.csv", "r2.csv"]
    assert parse(["bench", "jsb", "--data", "x.npz"]).eval_split == "valid"
    with pytest.raises(SystemExit):
        parse(["evaluate", "model", "m", "--data", "d", "--batch-size", "0"])


def test_evaluate_model_command(tiny_model, chorale_dataset, tmp_path, capsys):
    folder, _ = tiny_model
    main(["evaluate", "model", str(folder), "--data", str(chorale_dataset), "--split", "train", "--limit", "2",
          "--out", str(tmp_path / "nll.json")])
    printed = capsys.readouterr().out
    assert "bits/note" in printed
    assert json.loads((tmp_path / "nll.json").read_text())["overall"]["pieces"] == 2


def test_user_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "model", str(tmp_path / "nope"), "--data", str(tmp_path)])
    assert e.value.code == 2 and "tunesmith: error:" in capsys.readouterr().err


def test_bench_jsb_command(tmp_path, capsys):
    rng = np.random.default_rng(0)
    pieces = np.empty(3, dtype=object)
    pieces[:] = [np.tile(rng.integers(48, 72, (1, 4)), (16, 1)).astype(float) for _ in range(3)]
    np.savez(tmp_path / "j.npz", train=pieces, valid=pieces)
    main(["bench", "jsb", "--data", str(tmp_path / "j.npz"), "--out", str(tmp_path / "run"), "--max-steps", "3",
          "--warmup-steps", "1", "--context-steps", "4", "--hidden-size", "16", "--layers", "1", "--heads", "2",
          "--batch-size", "2", "--threads", "1"])
    printed = capsys.readouterr().out
    assert "Music Transformer" in printed and "tunesmith" in printed
    assert json.loads((tmp_path / "run" / "result.json").read_text())["evaluation"]["tokens"] == 3 * 16 * 4
    # two saved models evaluated together: each on its own row, and their average labelled as an ensemble
    main(["bench", "jsb", "--data", str(tmp_path / "j.npz"), "--out", str(tmp_path / "run2"), "--max-steps", "3",
          "--warmup-steps", "1", "--context-steps", "4", "--hidden-size", "16", "--layers", "1", "--heads", "2",
          "--batch-size", "2", "--threads", "1", "--seed", "1"])
    capsys.readouterr()
    main(["bench", "jsb", "--data", str(tmp_path / "j.npz"), "--out", str(tmp_path / "ens"), "--model",
          str(tmp_path / "run" / "model"), str(tmp_path / "run2" / "model"), "--eval-transpositions", "1"])
    printed = capsys.readouterr().out
    assert "ENSEMBLE of these 2 models" in printed and "not a single model" in printed
    ens = json.loads((tmp_path / "ens" / "result.json").read_text())["ensemble"]
    assert ens["members"] == 2 and ens["nll_per_token_ensemble"] <= max(ens["member_nll_per_token"])
    # one model trained on the two models' averaged predictions, labelled as one model
    main(["bench", "jsb", "--data", str(tmp_path / "j.npz"), "--out", str(tmp_path / "student"), "--max-steps", "3",
          "--warmup-steps", "1", "--context-steps", "4", "--hidden-size", "16", "--layers", "1", "--heads", "2",
          "--batch-size", "2", "--threads", "1", "--distill-from", str(tmp_path / "run" / "model"),
          str(tmp_path / "run2" / "model"), "--distill-transpositions", "1"])
    assert "averaged predictions of 2 model(s)" in capsys.readouterr().out
    for conflicting in (["--model", str(tmp_path / "run" / "model"), "--distill-from", str(tmp_path / "run2" / "model")],
                        ["--distill-transpositions", "1"]):
        with pytest.raises(SystemExit) as e:
            main(["bench", "jsb", "--data", str(tmp_path / "j.npz"), *conflicting])
        assert e.value.code == 2 and "--distill" in capsys.readouterr().err
