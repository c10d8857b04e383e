"""Audio -> notes: the round trip on real corpus pieces (render, transcribe, note-level F1), the clean-up,
and clear errors for bad audio (the beat grid: test_beat_tracking.py).

Tests that run basic-pitch skip when the audio extra is missing (`make install-audio`); the rest run
everywhere.
"""

import importlib.util
import sys

import numpy as np
import pytest
import soundfile
import symusic

from conftest import corpus_score
from tunesmith import audio
from tunesmith import transcribe as T
from tunesmith.errors import BadInputError, TunesmithError

HAS_EXTRA = all(importlib.util.find_spec(m) for m in ("basic_pitch", "onnxruntime", "librosa", "mir_eval"))
needs_extra = pytest.mark.skipif(not HAS_EXTRA, reason='needs the audio extra: make install-audio')
F1_REQUIRED = 0.75  # the bar (mir_eval onsets within 50 ms, offsets ignored)


def piano(name: str) -> symusic.Score:
    """A corpus piece with every track on the piano (program 0)."""
    score = corpus_score(name)
    for track in score.tracks:
        track.program, track.is_drum = 0, False
    return score


def note_f1(reference: symusic.Score, intervals: np.ndarray, pitches: np.ndarray) -> float:
    """mir_eval note F1: onsets within 50 ms and the same pitch; offsets ignored."""
    import mir_eval

    rows = sorted((n.time, n.time + n.duration, n.pitch) for t in reference.to("second").tracks for n in t.notes)
    ref = np.array(rows)
    keep = intervals[:, 1] > intervals[:, 0]
    _, _, f1, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref[:, :2], mir_eval.util.midi_to_hz(ref[:, 2]), intervals[keep], mir_eval.util.midi_to_hz(pitches[keep]),
        onset_tolerance=0.05, offset_ratio=None)
    return f1


@pytest.fixture(scope="module")
def chorale_piano():
    return piano("bach/bwv66.6")


@pytest.fixture(scope="module")
def chorale_audio(chorale_piano):
    return audio.render(chorale_piano, sample_rate=22050)


@pytest.fixture(scope="module")
def chorale_transcription(chorale_audio):
    if not HAS_EXTRA:
        pytest.skip("needs the audio extra")
    return T.transcribe_audio(chorale_audio, sample_rate=22050)


# --------------------------------------------------------------------------- the round trip


@needs_extra
def test_round_trip_bach_chorale(chorale_piano, chorale_audio, chorale_transcription):
    f1 = note_f1(chorale_piano, *chorale_transcription.note_times())
    raw = T.transcribe_audio(chorale_audio, T.TranscribeOptions(raw=True), sample_rate=22050)
    raw_f1 = note_f1(chorale_piano, *raw.note_times())
    print(f"bwv66.6 note F1: cleaned and quantised {f1:.3f}, raw basic-pitch {raw_f1:.3f}")
    assert f1 >= F1_REQUIRED
    assert f1 >= raw_f1  # the clean-up removes more wrong notes than it loses or misplaces


@needs_extra
def test_round_trip_mozart_piano_sonata(tmp_path):
    sonata = piano("mozart/k545/movement1_exposition")
    path = audio.write_audio(sonata, tmp_path / "k545.flac", sample_rate=22050)
    result = T.transcribe_audio(path)
    f1 = note_f1(sonata, *result.note_times())
    print(f"K. 545 note F1: {f1:.3f}")
    assert f1 >= F1_REQUIRED
    assert result.sample_rate == 22050
    assert result.duration == pytest.approx(soundfile.info(str(path)).duration, abs=0.01)


@needs_extra
def test_transcription_is_clean_music_data(chorale_transcription):
    from tunesmith.tokenizer import Tokenizer

    result = chorale_transcription
    score = result.score
    step = T.TICKS_PER_QUARTER // result.grid
    starts = np.array([n.time for n in score.tracks[0].notes])
    ends = starts + np.array([n.duration for n in score.tracks[0].notes])
    assert result.grid == 4 and (starts % step == 0).all() and (ends % step == 0).all()
    assert len(score.tempos) == 1 and score.tempos[0].qpm == pytest.approx(96, abs=1)  # the chorale's tempo
    assert [(t.numerator, t.denominator) for t in score.time_signatures] == [(4, 4)]
    assert starts.min() < 4 * T.TICKS_PER_QUARTER  # starts in the first bar: no leading silence
    first_beat = starts.min() / T.TICKS_PER_QUARTER  # and the offset says where that bar is in the recording
    assert result.offset + first_beat * 60 / 96 == pytest.approx(result.notes[0].start, abs=0.03)
    for pitch in set(n.pitch for n in score.tracks[0].notes):  # no overlapping notes of one pitch
        spans = sorted((n.time, n.time + n.duration) for n in score.tracks[0].notes if n.pitch == pitch)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert len(Tokenizer().encode_music(score)) > 100


@needs_extra
def test_raw_keeps_basic_pitchs_notes(chorale_audio, chorale_transcription):
    raw = T.transcribe_audio(chorale_audio, T.TranscribeOptions(raw=True), sample_rate=22050)
    assert [t.qpm for t in raw.score.tempos] == [120] and raw.offset == 0.0 and raw.grid == 0
    assert raw.score.note_num() > chorale_transcription.score.note_num()  # ghost notes and re-triggers kept
    first = min(raw.score.tracks[0].notes, key=lambda n: n.time)
    assert first.time / (2 * T.TICKS_PER_QUARTER) == pytest.approx(raw.notes[0].start, abs=1e-3)  # seconds kept
    loose = T.transcribe_audio(chorale_audio, T.TranscribeOptions(quantize=False), sample_rate=22050)
    assert loose.score.note_num() == len(loose.notes) == len(chorale_transcription.notes)


@needs_extra
def test_transcribe_a_file_with_options(tmp_path, chorale_piano):
    path = audio.write_audio(chorale_piano, tmp_path / "chorale.wav", sample_rate=44100)
    score = T.transcribe(path, meter="3/4", grid=2, program=19, tempo=96)
    assert [(t.numerator, t.denominator) for t in score.time_signatures] == [(3, 4)]
    assert {t.program for t in score.tracks} == {19}
    assert all(n.time % (T.TICKS_PER_QUARTER // 2) == 0 for n in score.tracks[0].notes)
    with pytest.raises(TunesmithError, match="grid"):
        T.transcribe(path, grid=5)


@needs_extra
def test_silence_has_no_notes(tmp_path):
    path = tmp_path / "silence.wav"
    soundfile.write(str(path), np.zeros(22050 * 2, dtype=np.float32), 22050)
    with pytest.raises(BadInputError, match="no notes found"):
        T.transcribe(path)


def test_missing_extra_says_how_to_install(monkeypatch, tmp_path):
    path = tmp_path / "tone.wav"
    soundfile.write(str(path), 0.3 * np.sin(np.arange(22050) * 2 * np.pi * 440 / 22050), 22050)
    monkeypatch.setattr(T, "_BACKENDS", {})
    monkeypatch.setitem(sys.modules, "basic_pitch", None)  # as if it were not installed
    with pytest.raises(T.MissingAudioExtra, match=r'pip install "tunesmith\[audio\]"') as err:
        T.transcribe(path)
    assert "missing module" in str(err.value) and "--no-deps basic-pitch" in str(err.value)


# --------------------------------------------------------------------------- bad audio


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(BadInputError, match="empty file") as err:
        T.load_audio(path)
    assert err.value.path == str(path)


def test_not_audio(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("these are not the sounds you are looking for\n" * 20)
    with pytest.raises(BadInputError, match="not a readable audio file"):
        T.load_audio(path)


def test_zero_length_audio(tmp_path):
    path = tmp_path / "nothing.wav"
    soundfile.write(str(path), np.zeros((0, 2), dtype=np.float32), 44100)
    assert path.stat().st_size > 0  # a valid header, no samples
    with pytest.raises(BadInputError, match="0 samples"):
        T.load_audio(path)


def test_unsupported_sample_rate(tmp_path):
    path = tmp_path / "telephone.wav"
    soundfile.write(str(path), np.zeros(4000, dtype=np.float32), 4000)
    with pytest.raises(BadInputError, match="unsupported sample rate 4000 Hz"):
        T.load_audio(path)
    with pytest.raises(BadInputError, match="unsupported sample rate"):
        T.transcribe_audio(np.zeros(1000, dtype=np.float32), sample_rate=1000)


def test_too_short_missing_and_wrong_suffix(tmp_path):
    short = tmp_path / "click.flac"
    soundfile.write(str(short), np.zeros(100, dtype=np.float32), 44100)
    with pytest.raises(BadInputError, match="too short"):
        T.load_audio(short)
    with pytest.raises(BadInputError, match="no such file"):
        T.load_audio(tmp_path / "missing.wav")
    text = tmp_path / "score.mid"
    text.write_bytes(b"MThd")
    with pytest.raises(BadInputError, match="unsupported audio format '.mid'"):
        T.load_audio(text)


def test_audio_is_read_as_mono_at_the_models_rate(tmp_path):
    path = tmp_path / "stereo.flac"
    t = np.arange(44100) / 44100
    soundfile.write(str(path), np.stack([np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1) * 0.5, 44100)
    samples, rate = T.load_audio(path)
    assert rate == 44100 and samples.dtype == np.float32 and samples.shape == (T.MODEL_RATE,)
    assert np.abs(samples).max() == pytest.approx(0.25, abs=0.02)


# --------------------------------------------------------------------------- clean-up, beats, grid


def note(start, end, pitch=60, velocity=80, strength=0.9):
    return T.NoteEvent(start, end, pitch, velocity, strength)


def test_clean_up_drops_faint_and_short_notes_and_merges_retriggers():
    notes = [
        note(0.0, 0.5), note(0.51, 1.0, strength=0.55),  # a weak re-onset of a held note: merged
        note(1.0, 1.5, pitch=62), note(1.5, 2.0, pitch=62, strength=0.95),  # a struck repeat: kept
        note(2.0, 2.5, pitch=64), note(2.2, 2.6, pitch=64, strength=0.9),  # overlaps the held note: merged
        note(3.0, 3.5, pitch=72, velocity=30),  # faint ghost: dropped
        note(4.0, 4.03, pitch=65),  # too short: dropped
    ]
    cleaned = T.clean_notes(notes)
    assert [(n.start, n.end, n.pitch) for n in cleaned] == [(0.0, 1.0, 60), (1.0, 1.5, 62), (1.5, 2.0, 62),
                                                            (2.0, 2.6, 64)]
    assert notes[0].end == 0.5  # the input is left alone
    kept = T.clean_notes(notes, T.TranscribeOptions(min_velocity=0, min_length=0, merge_gap=0))
    assert len(kept) == len(notes) - 1  # only the overlap is still merged: one pitch cannot sound twice


def test_options_are_checked():
    for bad in (dict(grid=5), dict(min_velocity=200), dict(meter="waltz"), dict(tempo=1000.0),
                dict(onset_threshold=1.5), dict(merge_gap=-1.0)):
        with pytest.raises(TunesmithError):
            T.TranscribeOptions(**bad).check()
