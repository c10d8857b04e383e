"""Listening-test kits: anonymised shuffled clips, a separate answer key, and scoring of ratings."""

import csv
import json

import pytest
import soundfile

from tunesmith.errors import BadInputError
from tunesmith.evaluate.listen import RATING_COLUMNS, format_scores, make_kit, score_ratings, wilson_interval


@pytest.fixture(scope="module")
def kit(tmp_path_factory, chorale_dataset):
    out = tmp_path_factory.mktemp("kit") / "kit"
    info = make_kit(f"{chorale_dataset}:train", f"{chorale_dataset}:train", out, pairs=2, seed=3, max_seconds=2.0)
    return out, info


def test_kit_is_blind(kit):
    out, info = kit
    assert info["trials"] == 2 and (out / "answer_key.json").is_file()
    page = (out / "page" / "index.html").read_text()
    key = json.loads((out / "answer_key.json").read_text())
    assert not (out / "page" / "answer_key.json").exists()
    for trial in key["trials"].values():
        assert {trial["x"]["system"], trial["y"]["system"]} == {"A", "B"}
        assert trial["x"]["piece"] not in page and trial["x"]["clip"] in page
        durations = {soundfile.info(str(out / "page" / "clips" / f"{trial[s]['clip']}.flac")).duration for s in "xy"}
        assert len(durations) == 1 and durations.pop() <= 2.0  # equal lengths: length gives nothing away
    assert "bwv" not in page and "download" in page


def write_ratings(path, key: dict, prefer: str, rater: str, mos=("4", "2")) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(RATING_COLUMNS)
        for trial, t in key["trials"].items():
            pref = "x" if t["x"]["system"] == prefer else "y"
            mos_x, mos_y = mos if t["x"]["system"] == "A" else mos[::-1]
            w.writerow([rater, trial, t["x"]["clip"], t["y"]["clip"], pref, mos_x, mos_y])


def test_scoring(kit, tmp_path):
    out, _ = kit
    key = json.loads((out / "answer_key.json").read_text())
    write_ratings(tmp_path / "r1.csv", key, "A", "ann")
    write_ratings(tmp_path / "r2.csv", key, "A", "bob")
    write_ratings(tmp_path / "r3.csv", key, "B", "cat")
    r = score_ratings(out, [tmp_path / f"r{k}.csv" for k in (1, 2, 3)])
    assert r["raters"] == 3 and r["wins"] == {"A": 4, "B": 2} and r["share_A"] == pytest.approx(4 / 6)
    assert r["share_A_95"][0] < 4 / 6 < r["share_A_95"][1]
    assert r["mos"]["A"]["mean"] == 4.0 and r["mos"]["B"]["mean"] == 2.0 and r["mos"]["A"]["n"] == 6
    assert "A preferred in 66.7%" in format_scores(r)


def test_ratings_from_another_kit_or_out_of_range_are_refused(kit, tmp_path):
    out, _ = kit
    key = json.loads((out / "answer_key.json").read_text())
    key["trials"]["1"]["x"]["clip"] = "0000000000"
    write_ratings(tmp_path / "other.csv", key, "A", "ann")
    with pytest.raises(BadInputError, match="does not match"):
        score_ratings(out, [tmp_path / "other.csv"])
    key = json.loads((out / "answer_key.json").read_text())
    write_ratings(tmp_path / "bad.csv", key, "A", "ann", mos=("9", "2"))
    with pytest.raises(BadInputError, match="outside 1-5"):
        score_ratings(out, [tmp_path / "bad.csv"])
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(BadInputError, match="missing columns"):
        score_ratings(out, [tmp_path / "x.csv"])


def test_wilson_interval():
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0
