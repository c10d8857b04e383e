"""Every CLI command, run as a user would (in-process through `main`, and once as a real process)."""

import json
import subprocess
import sys

import pytest
import symusic
import torch

from conftest import corpus_score
from tunesmith.cli import main


def test_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "tunesmith", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "generate" in out.stdout and "data" in out.stdout


@pytest.fixture(scope="module")
def midi_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mymusic")
    for i, name in enumerate(["bach/bwv66.6", "bach/bwv10.7", "bach/bwv11.6", "bach/bwv101.7"]):
        corpus_score(name).dump_midi(str(folder / f"piece{i}.mid"))
    (folder / "broken.mid").write_bytes(b"MThd garbage")
    return folder


def test_train_preset_default_runs_the_bundled_models_stages(tmp_path, midi_folder, capsys, cache_dir):
    """The default recipe on a folder of one's own music: three stages, each from the one before; its
    piano weighting finds no piano-midi.de piece here and says so instead of failing after two stages."""
    main(["data", "build", str(midi_folder), "--out", str(tmp_path / "ds"), "--workers", "1",
          "--cache-dir", str(cache_dir)])
    capsys.readouterr()
    main(["train", str(tmp_path / "ds"), "--out", str(tmp_path / "run"), "--preset", "default", "--max-steps", "1",
          "--max-len", "64", "--batch-size", "2", "--eval-every", "1"])
    printed = capsys.readouterr().out
    assert "no training piece has collection 'pianomidi', so it runs without the weight" in printed
    assert "stage 1 of 3: scratch, from scratch" in printed and "stage 3 of 3: piano-x3, from" in printed
    summary = json.loads(printed[printed.index("{\n"):])
    assert [s["stage"] for s in summary["stages"]] == ["scratch", "window-keys", "piano-x3"]
    stages = json.loads((tmp_path / "run" / "recipe.json").read_text())["stages"]
    assert [(s["config"]["preset"], s["config"]["lr"], s["config"]["window_key"]) for s in stages] == [
        ("small", 1e-3, False), ("small", 2e-4, True), ("small", 2e-4, True)]
    with pytest.raises(SystemExit):  # a weight given by hand must match
        main(["train", str(tmp_path / "ds"), "--out", str(tmp_path / "r2"), "--preset", "default", "--max-steps", "1",
              "--max-len", "64", "--batch-size", "2", "--weight", "collection=pianomidi:3"])
    assert "no training piece has collection 'pianomidi'" in capsys.readouterr().err


def test_data_build_train_generate(tmp_path, midi_folder, capsys, cache_dir):
    main(["data", "build", str(midi_folder), "--out", str(tmp_path / "ds"), "--workers", "1",
          "--cache-dir", str(cache_dir)])
    printed = capsys.readouterr().out
    assert "kept 4" in printed and "skipped 1" in printed and "skipped.jsonl" in printed
    skipped = [json.loads(x) for x in (tmp_path / "ds" / "skipped.jsonl").read_text().splitlines()]
    assert [s["source"].endswith("broken.mid") for s in skipped] == [True]

    main(["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "run"), "--preset", "tiny", "--max-steps", "4",
          "--batch-size", "2", "--eval-every", "2"])
    printed = capsys.readouterr().out
    summary = json.loads(printed[printed.index("{\n"):])
    assert summary["steps"] == 4 and (tmp_path / "run" / "best" / "model.safetensors").is_file()

    main(["train", str(tmp_path / "ds"), "--out", str(tmp_path / "tuned"), "--preset", "finetune", "--init-from",
          str(tmp_path / "run"), "--max-steps", "2", "--batch-size", "2", "--eval-every", "2", "--piece-key",
          "--weight", f"collection={midi_folder.name}:2"])
    printed = capsys.readouterr().out
    assert "starting from" in printed and json.loads(printed[printed.index("{\n"):])["steps"] == 2
    assert f"weight collection={midi_folder.name} x2: 100% of training windows" in printed
    tuned = json.loads((tmp_path / "tuned" / "best" / "train.json").read_text())
    assert tuned["preset"] == "tiny" and tuned["init_from"] == str(tmp_path / "run" / "best")
    assert tuned["lr"] == 2e-4 and tuned["window_key"] is False and tuned["weights"] == {f"collection={midi_folder.name}": 2.0}

    main(["generate", "--model", str(tmp_path / "run"), "--meter", "3/4", "--tempo", "100",
          "--instruments", "piano,violin", "--bars", "2", "--out", str(tmp_path / "gen"), "--num-samples", "2",
          "--no-audio"])
    printed = capsys.readouterr().out
    assert "sample-0" in printed and "sample-1" in printed and "tokens/s" in printed
    score = symusic.Score(str(tmp_path / "gen" / "sample-0.mid"))
    assert (score.time_signatures[0].numerator, score.time_signatures[0].denominator) == (3, 4)
    assert (tmp_path / "gen" / "sample-1.png").is_file()


def test_errors_are_one_line_not_tracebacks(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["data", "build", str(tmp_path / "nowhere"), "--out", str(tmp_path / "ds")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["generate", "--model", str(tmp_path / "no-model")])
    assert "no-model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path), "--out", str(tmp_path / "r")])
    assert "not a tunesmith dataset" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path), "--out", str(tmp_path / "r"), "--preset", "huge"])
    err = capsys.readouterr().err
    assert "unknown preset 'huge'" in err and "default" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path), "--out", str(tmp_path / "r"), "--preset", "finetune"])
    assert "--init-from" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path), "--out", str(tmp_path / "r"), "--weight", "collection=pianomidi"])
    assert "FIELD=VALUE:FACTOR" in capsys.readouterr().err


def test_generate_rejects_unknown_style_and_instrument(tiny_model, capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--model", str(tiny_model[0]), "--style", "chopin"])
    err = capsys.readouterr().err
    assert "does not know the style 'chopin'" in err and "bach" in err
    with pytest.raises(SystemExit):
        main(["generate", "--model", str(tiny_model[0]), "--instruments", "kazoo-phone"])
    assert "unknown instrument" in capsys.readouterr().err


def test_demo_quick_trial(tmp_path, capsys):
    main(["demo", "--out", str(tmp_path / "demo"), "--preset", "tiny", "--minutes", "0.05", "--limit", "12"])
    printed = capsys.readouterr().out
    assert "[3/3]" in printed and "chorale.mid" in printed and "chorale.wav" in printed
    assert (tmp_path / "demo" / "generated" / "chorale.png").is_file()


def test_generate_from_a_prompt_shows_what_it_understood(tiny_model, tmp_path, capsys):
    out = tmp_path / "gen"
    threads = torch.get_num_threads()
    try:  # --threads 1: one thread decodes (the suite's other tests keep torch's default)
        main(["generate", "a slow, sad chorale in D minor for strings, 4 bars", "--model", str(tiny_model[0]),
              "--out", str(out), "--no-audio", "--tempo", "60", "--style-guidance", "2", "--voices", "3",
              "--threads", "1"])
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    assert "understood:" in printed and "D minor" in printed and "set by you" in printed and "'4 bars'" in printed
    assert "voices      3   <- set by you" in printed and "  voices      asked 3 " in printed
    saved = json.loads((out / "sample.json").read_text())
    assert saved["prompt"]["controls"]["key"] == "D minor" and saved["prompt"]["mood"] == "sad"
    assert saved["controls"]["tempo"] == 60 and saved["controls"]["instruments"] == [40, 41, 42]
    assert saved["options"]["voices"] == 3 and saved["adherence"]["voices"]["measured"]["most"] <= 3
    assert saved["options"]["style_guidance"] == 2.0  # genre "chorale" and the sentence: guided
    for name in ("meter", "tempo", "instruments", "bars"):
        if name in saved["adherence"]:
            assert saved["adherence"][name]["pass"]
    assert "key" in saved["adherence"] and "mood" in saved["adherence"]
    score = symusic.Score(str(out / "sample.mid"))
    assert {t.program for t in score.tracks if t.note_num()} <= {40, 41, 42}


def test_prompt_asks_the_model_cannot_serve(tiny_model, capsys):
    with pytest.raises(SystemExit) as e:
        main(["generate", "a nocturne in the style of Gershwin", "--model", str(tiny_model[0])])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "Gershwin" in err and "Nearest styles it knows: bach" in err
    assert "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["generate", "a tune for theremin", "--model", str(tiny_model[0])])
    assert "not a General MIDI instrument" in capsys.readouterr().err


def test_the_adherence_lines_say_what_the_mood_was_judged_by():
    from tunesmith.cli import format_adherence

    report = {"mood": {"requested": "sad", "measured": {"key": "D minor", "tempo": 66.0}, "pass": True},
              "key": {"requested": "F# minor", "measured": "F# minor, transposed from the far side of the circle",
                      "pass": False}}
    mood, key = format_adherence(report).splitlines()
    assert mood.split() == ["mood", "asked", "sad", "measured", "D", "minor,", "66", "BPM", "pass"]
    assert key.endswith(" FAIL")  # a long measured value still leaves a space before the verdict
    voices = format_adherence({"voices": {"requested": 4, "measured": {"most": 4, "share": 0.562}, "pass": True}})
    assert voices.split() == ["voices", "asked", "4", "measured", "4", "at", "most,", "4", "for", "56%", "pass"]
    stuck = format_adherence({"stuck": {"measured": 6, "limit": 3, "pass": False}})
    assert stuck.split() == ["stuck", "6", "bars", "in", "a", "row", "mostly", "on", "2", "pitches", "FAIL", "(at",
                             "most", "3)"]
    parts = format_adherence({"parts": {"requested": [0, 40, 42], "measured": {0: 4, 40: 0, 42: 1}, "limit": 3,
                                        "pass": False}})
    assert parts.split() == ["parts", "every", "part", "plays:", "the", "longest", "rest", "4", "bars", "FAIL", "(at",
                             "most", "3)"]
    outer = format_adherence({"voices": {"requested": 2, "measured": {"most": 2, "share": 0.99}, "pass": True,
                                         "outer_of": 4}})
    assert outer.endswith("pass (the outer voices of 4 written)")
    voiced = format_adherence({"instruments": {"requested": [65], "measured": [65], "pass": True, "written_as": [0],
                                               "written_why": "the instrument this model learned best",
                                               "players_sound": 1, "doubling": []}})
    assert voiced.endswith("(written as Acoustic Grand Piano, the instrument this model learned best; voiced as "
                           "asked); at most 1 note at once, as its player can")
    doubled = format_adherence({"instruments": {"requested": [56, 57, 58, 60], "measured": [56, 57, 58, 60],
                                                "pass": True, "written_as": [52], "doubling": [57]}})
    assert doubled.endswith("; Trombone doubles another part: the piece has fewer voices")


def test_styles_lists_what_a_model_can_be_asked_for(tiny_model, capsys):
    main(["styles", "--model", str(tiny_model[0])])
    printed = capsys.readouterr().out
    assert printed.startswith(f"{tiny_model[0]} knows") and "composers:" in printed and "genres:" in printed
    assert "  bach " in printed and " pieces " in printed  # the tiny model's corpus: Bach chorales, counted
    assert "'bach chorale'" in printed and "'hymn'" in printed  # the words that name the collection
    assert "sad " in printed and "funeral" in printed and "meters it can write:" in printed and "4/4" in printed
    assert "instruments it writes for directly" in printed and "Choir Aahs" in printed  # the chorales' own
    assert "famous works" in printed and "'goldberg variations'" in printed  # Bach's, which it knows
    assert "'für elise'" not in printed and "'fur elise'" not in printed  # not Beethoven's: it has no Beethoven
