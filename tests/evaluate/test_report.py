"""`evaluate samples` end to end on real chorales: report.json figures and a self-contained report.html."""

import json
import re

import pytest

from tunesmith.errors import BadInputError, TunesmithError
from tunesmith.evaluate.report import SamplesOptions, evaluate_samples


@pytest.fixture(scope="module")
def report(tmp_path_factory, chorale_dataset):
    out = tmp_path_factory.mktemp("report")
    opts = SamplesOptions(train=str(chorale_dataset), max_pieces=8, listen=1, seed=0)
    text = evaluate_samples(f"{chorale_dataset}:train", f"{chorale_dataset}:train", out, opts, progress=False)
    return out, text


def test_report_json(report):
    out, text = report
    r = json.loads((out / "report.json").read_text())
    assert r["generated"]["pieces"] == 8 and r["validity"]["generated"]["decodes"] == 1.0
    assert len(r["features"]) == len(r["real_vs_real"]) == 12
    same = {row["feature"]: row for row in r["features"]}
    assert same["pitch_range"]["oa"] > 0.8  # the same 8 pieces on both sides (inter-set adds the 0 self-distances)
    # training pieces against their own training set: every one is copied whole
    assert r["novelty"]["generated"]["share_copying"] == 1.0
    assert "skipped" in r["style"]  # one composer only
    h = r["headline"]
    assert h["valid_share"] == r["validity"]["generated"]["valid"] >= 0.75  # a real chorale may rest a whole bar
    assert h["share_copying_4_bars"] == 1.0
    assert h["stuck_share"] == h["reference_stuck_share"] == 0.0  # Bach chorales never loop
    assert 0 <= h["unplayable_onsets"] == h["reference_unplayable_onsets"] < 0.05  # the same pieces on both sides
    assert "valid samples:" in text and "report.html" in text


def test_report_html_is_self_contained(report):
    out, _ = report
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3  # features, distances, one piano roll
    assert page.count("data:audio/flac;base64,") == 1
    assert not re.search(r'src="(?!data:)', page)  # nothing loaded from elsewhere
    for heading in ("Headline", "Set comparison", "Validity", "Novelty", "Style", "Listen"):
        assert f">{heading}" in page


def test_a_set_without_music_is_an_error(tmp_path, chorale_dataset):
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen" / "x.mid").write_bytes(b"MThd broken")
    with pytest.raises(TunesmithError, match="no sample decodes"):
        evaluate_samples(tmp_path / "gen", f"{chorale_dataset}:train", tmp_path / "out",
                         SamplesOptions(max_pieces=4, listen=0), progress=False)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(BadInputError, match="no pieces"):
        evaluate_samples(tmp_path / "nothing", f"{chorale_dataset}:train", tmp_path / "out", progress=False)
