"""`tunesmith render` and `tunesmith transcribe` as a user runs them, audio folders in `data build`, MP3 out,
and the --prompt-audio / --format helpers of `generate`.

Tests that run basic-pitch skip when the audio extra is missing (`make install-audio`).
"""

import argparse
import importlib.util
import json
import sys

import numpy as np
import pytest
import soundfile
import symusic
from music21 import converter

from conftest import corpus_score
from tunesmith import audio, audio_cli
from tunesmith import transcribe as T
from tunesmith.errors import TunesmithError

HAS_EXTRA = all(importlib.util.find_spec(m) for m in ("basic_pitch", "onnxruntime", "librosa"))
needs_extra = pytest.mark.skipif(not HAS_EXTRA, reason="needs the audio extra: make install-audio")


def tunesmith(argv: list[str]) -> None:
    """Run a command as `tunesmith ARGV` does (one-line errors, exit status 2)."""
    from tunesmith import cli

    cli.main(argv)


def one_line_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        tunesmith(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1
    return err


@pytest.fixture(scope="module")
def chorale_midi(tmp_path_factory):
    path = tmp_path_factory.mktemp("scores") / "chorale.mid"
    score = corpus_score("bach/bwv66.6")
    for track in score.tracks:
        track.program = 0
    score.dump_midi(str(path))
    return path


@pytest.fixture(scope="module")
def chorale_wav(chorale_midi, tmp_path_factory):
    path = tmp_path_factory.mktemp("audio") / "chorale.wav"
    audio.write_audio(symusic.Score(str(chorale_midi)), path, sample_rate=22050)
    return path


# --------------------------------------------------------------------------- render


def test_render_wav_flac_and_pianoroll(chorale_midi, tmp_path, capsys):
    tunesmith(["render", str(chorale_midi), "--out", str(tmp_path / "c.flac"), "--sample-rate", "22050", "--pianoroll"])
    printed = capsys.readouterr().out
    assert "c.flac: 23." in printed and "22050 Hz" in printed and "realtime" in printed and "TimGM6mb" in printed
    info = soundfile.info(str(tmp_path / "c.flac"))
    assert (info.format, info.samplerate, info.channels) == ("FLAC", 22050, 2)
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    tunesmith(["render", str(chorale_midi)])  # default: beside the input, as WAV
    assert soundfile.info(str(chorale_midi.with_suffix(".wav"))).format == "WAV"


def test_render_mp3(chorale_midi, tmp_path, capsys):
    name, _ = audio.mp3_encoder()
    tunesmith(["render", str(chorale_midi), "--out", str(tmp_path / "c.mp3")])
    assert "c.mp3: " in capsys.readouterr().out
    samples, rate = soundfile.read(str(tmp_path / "c.mp3"))
    assert rate == 44100 and samples.shape[1] == 2 and 0.5 < np.abs(samples).max() <= 1.0, name
    assert len(samples) / rate == pytest.approx(23.0, abs=0.7)


def test_render_a_musicxml_file(tmp_path):
    from tunesmith.data.sources import music21_corpus_root

    score_path = music21_corpus_root() / "bach" / "bwv66.6.mxl"
    tunesmith(["render", str(score_path), "--out", str(tmp_path / "from-xml.wav")])
    assert soundfile.info(str(tmp_path / "from-xml.wav")).duration > 20


def test_mp3_problems_are_clear(chorale_midi, tmp_path, monkeypatch, capsys):
    err = one_line_error(["render", str(chorale_midi), "--out", str(tmp_path / "x.mp3"), "--sample-rate", "96000"],
                         capsys)
    assert "MP3 cannot carry 96000 Hz" in err
    monkeypatch.setattr(audio.soundfile, "available_formats", lambda: {"WAV": "", "FLAC": ""})
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(audio.importlib.util, "find_spec",
                        lambda name, *a: None if name == "lameenc" else real_find_spec(name, *a))
    err = one_line_error(["render", str(chorale_midi), "--out", str(tmp_path / "x.mp3")], capsys)
    assert "no MP3 encoder found" in err and "pip install lameenc" in err and "ffmpeg" in err
    assert not (tmp_path / "x.mp3").exists()


def test_mp3_through_an_encoder_binary(tmp_path, monkeypatch):
    """Without libsndfile MP3, an ffmpeg (or lame) on PATH encodes: here a stand-in that copies its input."""
    fake = tmp_path / "ffmpeg"
    fake.write_text(f"#!{sys.executable}\nimport shutil, sys\nshutil.copyfile(sys.argv[sys.argv.index('-i') + 1], "
                    "sys.argv[-1])\n")
    fake.chmod(0o755)
    monkeypatch.setattr(audio.soundfile, "available_formats", lambda: {"WAV": ""})
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(audio.importlib.util, "find_spec",
                        lambda name, *a: None if name == "lameenc" else real_find_spec(name, *a))
    monkeypatch.setattr(audio.shutil, "which", lambda name: str(fake) if name == "ffmpeg" else None)
    assert audio.mp3_encoder()[0] == "ffmpeg"
    score = symusic.Score(480)
    score.tracks.append(symusic.Track(program=0))
    score.tracks[0].notes.append(symusic.Note(0, 480, 60, 100))
    out = audio.write_audio(score, tmp_path / "tone.mp3", sample_rate=22050)
    assert soundfile.info(str(out)).samplerate == 22050  # the stand-in wrote the WAV it was given


def test_render_errors_are_one_line(tmp_path, capsys):
    assert "no such file" in one_line_error(["render", str(tmp_path / "missing.mid")], capsys)
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"MThd junk")
    assert "junk.mid" in one_line_error(["render", str(junk)], capsys)
    recording = tmp_path / "take.wav"
    soundfile.write(str(recording), np.zeros(4410, dtype=np.float32), 44100)
    assert "not a score file" in one_line_error(["render", str(recording)], capsys)


# --------------------------------------------------------------------------- transcribe


@needs_extra
def test_transcribe_to_midi_and_pianoroll(chorale_wav, tmp_path, capsys):
    out = tmp_path / "chorale-notes.mid"
    tunesmith(["transcribe", str(chorale_wav), "--out", str(out), "--pianoroll"])
    printed = capsys.readouterr().out
    assert "23.0 s of audio at 22050 Hz" in printed and "tempo 96 BPM" in printed and "realtime" in printed
    score = symusic.Score(str(out))
    assert 140 < score.note_num() < 200  # the chorale has 163
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


@needs_extra
@pytest.mark.filterwarnings("ignore:Cannot put in an element with a missing voice tag")  # music21 reading its own
def test_transcribe_to_musicxml_raw(chorale_wav, tmp_path, capsys):
    out = tmp_path / "raw.musicxml"
    tunesmith(["transcribe", str(chorale_wav), "--out", str(out), "--raw"])
    assert "raw: seconds kept at 120 BPM" in capsys.readouterr().out
    assert len(converter.parse(str(out)).flatten().notes) > 100


def test_transcribe_bad_audio_is_one_line(tmp_path, capsys):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert "empty.wav: empty file" in one_line_error(["transcribe", str(empty)], capsys)
    text = tmp_path / "text.flac"
    text.write_text("no audio here\n" * 50)
    assert "not a readable audio file" in one_line_error(["transcribe", str(text)], capsys)
    slow = tmp_path / "slow.wav"
    soundfile.write(str(slow), np.zeros(8000, dtype=np.float32), 2000)
    assert "unsupported sample rate 2000 Hz" in one_line_error(["transcribe", str(slow)], capsys)
    assert "grid" in one_line_error(["transcribe", str(empty), "--grid", "5"], capsys)


def test_transcribe_without_the_extra_says_how_to_install(chorale_wav, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(T, "_BACKENDS", {})
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    err = one_line_error(["transcribe", str(chorale_wav), "--out", str(tmp_path / "x.mid")], capsys)
    assert 'pip install "tunesmith[audio]"' in err and "onnxruntime" in err


# --------------------------------------------------------------------------- data build, generate


@needs_extra
def test_data_build_transcribes_audio_folders(chorale_wav, tmp_path, cache_dir):
    from tunesmith.data.build import build_dataset

    folder = tmp_path / "recordings"
    (folder / "bach").mkdir(parents=True)
    (folder / "bach" / "chorale.wav").write_bytes(chorale_wav.read_bytes())
    corpus_score("bach/bwv10.7").dump_midi(str(folder / "other.mid"))
    (folder / "other.flac").write_bytes(b"")  # the audio of other.mid: not transcribed again
    (folder / "broken.mp3").write_bytes(b"ID3 but then nothing useful" * 10)
    T.posteriorgrams(np.zeros(T.MODEL_RATE, dtype=np.float32))  # this process holds a live session when the
    # build forks its workers: they must make their own without touching it (destroying it deadlocked)
    report = build_dataset([str(folder)], tmp_path / "ds", workers=2, cache_dir=cache_dir, progress=False)
    assert (report.files, report.kept) == (3, 2)
    pieces = [json.loads(x) for x in (tmp_path / "ds" / "pieces.jsonl").read_text().splitlines()]
    recorded = next(p for p in pieces if p["source"].endswith("chorale.wav"))
    assert recorded["composer"] == "bach" and recorded["n_notes"] > 140
    assert recorded["tempo"] == pytest.approx(96, abs=1)
    skipped = {json.loads(x)["source"].rsplit("/", 1)[-1]: json.loads(x)["reason"]
               for x in (tmp_path / "ds" / "skipped.jsonl").read_text().splitlines()}
    assert set(skipped) == {"other.flac", "broken.mp3"}
    assert "audio of a score" in skipped["other.flac"] and "not a readable audio file" in skipped["broken.mp3"]


@needs_extra
def test_prompt_audio_continues_a_recording(chorale_wav, tmp_path, random_model, capsys):
    from tunesmith.generate import GenerationOptions

    args = argparse.Namespace(prompt_audio=str(chorale_wav), prompt_midi=None, out=str(tmp_path), name="take",
                              meter="3/4")
    audio_cli.prepare_generate(args)
    assert args.prompt_midi == str(tmp_path / "take-prompt.mid") and "transcribed" in capsys.readouterr().out
    prompt = symusic.Score(args.prompt_midi)
    assert [(t.numerator, t.denominator) for t in prompt.time_signatures] == [(3, 4)]
    [gen] = random_model.generate(GenerationOptions(prompt_midi=args.prompt_midi, prompt_bars=2, bars=1, seed=0,
                                                    max_new_tokens=40))
    opening = random_model.tokenizer.encode_music(prompt).tolist()
    bars = [i for i, t in enumerate(opening) if t == random_model.tokenizer.bar_id]
    assert gen.ids[1: 1 + bars[2]] == opening[: bars[2]]  # the recording's first two bars open the piece
    with pytest.raises(TunesmithError, match="not both"):
        audio_cli.prepare_generate(argparse.Namespace(prompt_audio="a.wav", prompt_midi="b.mid", out=str(tmp_path)))


def test_generate_formats(tmp_path):
    parser = argparse.ArgumentParser()
    audio_cli.add_generate_options(parser)
    args = parser.parse_args(["--format", "musicxml", "--format", "mxl", "--format", "musicxml"])
    written = audio_cli.write_extra_formats(corpus_score("bach/bwv66.6"), tmp_path, "sample-0", args)
    assert written == {"musicxml": tmp_path / "sample-0.musicxml", "mxl": tmp_path / "sample-0.mxl"}
    assert len(converter.parse(str(written["mxl"])).parts) == 4
    assert audio_cli.write_extra_formats(None, tmp_path, "x", parser.parse_args([])) == {}
