"""Audio rendering: SoundFont lookup, render() on real music, WAV/FLAC output, drums, tuning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import symusic
from music21 import corpus, midi

from tunesmith import audio
from tunesmith.errors import BadInputError, TunesmithError

SR = 44100


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory):
    """Keep the fixed SoundFont copies out of the real user cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="session")
def timgm() -> Path:
    """pretty_midi's bundled SoundFont: small, always there, so results do not depend on the host."""
    path = audio._pretty_midi_soundfont()
    assert path is not None, "pretty_midi's TimGM6mb.sf2 is missing"
    return path


@pytest.fixture(scope="session")
def chorale() -> symusic.Score:
    s = corpus.parse("bach/bwv66.6")
    return symusic.Score.from_midi(midi.translate.music21ObjectToMidiFile(s).writestr())


@pytest.fixture(scope="session")
def chorale_opening(chorale) -> symusic.Score:
    """The first four bars: enough for file-format tests, quick to render."""
    return chorale.clip(0, 4 * 4 * chorale.tpq)


def one_track(notes: list[tuple[float, float, int, int]], program: int = 0, is_drum: bool = False) -> symusic.Score:
    """A score with one track; notes as (start beat, length in beats, pitch, velocity) at 120 bpm."""
    score = symusic.Score(480)
    track = symusic.Track("", program, is_drum)
    for start, length, pitch, velocity in notes:
        track.notes.append(symusic.Note(int(start * 480), int(length * 480), pitch, velocity))
    score.tracks.append(track)
    return score


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def fundamental(x: np.ndarray, sample_rate: int) -> float:
    """Fundamental frequency by the harmonic product spectrum (robust to strong overtones)."""
    x = x - x.mean()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), 8 * len(x)))
    freqs = np.fft.rfftfreq(8 * len(x), 1 / sample_rate)
    product = spectrum.copy()
    for h in (2, 3):
        down = spectrum[::h]
        product[: len(down)] *= down
        product[len(down) :] = 0
    low = np.searchsorted(freqs, 50)
    return float(freqs[low + product[low:].argmax()])


# --------------------------------------------------------------------------- find_soundfont


def test_find_soundfont_defaults_to_pretty_midis_timgm6mb(monkeypatch, tmp_path):
    monkeypatch.delenv(audio.SOUNDFONT_ENV, raising=False)
    monkeypatch.setattr(audio, "SYSTEM_SOUNDFONTS", (tmp_path / "not-installed.sf2",))
    found = audio.find_soundfont()
    assert found.name == "TimGM6mb.sf2" and found.is_file()


def test_find_soundfont_prefers_an_installed_system_soundfont(monkeypatch, tmp_path):
    system = tmp_path / "FluidR3_GM.sf2"
    system.write_bytes(b"RIFF")
    monkeypatch.delenv(audio.SOUNDFONT_ENV, raising=False)
    monkeypatch.setattr(audio, "SYSTEM_SOUNDFONTS", (system,))
    assert audio.find_soundfont() == system


def test_find_soundfont_uses_the_environment_variable(monkeypatch, timgm):
    monkeypatch.setenv(audio.SOUNDFONT_ENV, str(timgm))
    assert audio.find_soundfont() == timgm


def test_find_soundfont_environment_variable_must_point_to_a_file(monkeypatch, tmp_path):
    missing = tmp_path / "gone.sf2"
    monkeypatch.setenv(audio.SOUNDFONT_ENV, str(missing))
    with pytest.raises(BadInputError, match="SoundFont not found") as err:
        audio.find_soundfont()
    assert str(missing) in str(err.value) and audio.SOUNDFONT_ENV in str(err.value)


def test_missing_explicit_soundfont_is_named(tmp_path):
    missing = tmp_path / "nowhere" / "piano.sf2"
    with pytest.raises(BadInputError) as err:
        audio.find_soundfont(missing)
    assert err.value.path == str(missing)
    assert str(err.value) == f"{missing}: SoundFont not found"


def test_explicit_soundfont_must_be_sf2_or_sf3(tmp_path):
    wrong = tmp_path / "piano.wav"
    wrong.write_bytes(b"RIFF")
    with pytest.raises(BadInputError, match="expected a .sf2 or .sf3"):
        audio.find_soundfont(wrong)
    sf3 = tmp_path / "font.SF3"
    sf3.write_bytes(b"RIFF")
    assert audio.find_soundfont(sf3) == sf3


def test_no_soundfont_anywhere_says_how_to_get_one(monkeypatch):
    monkeypatch.delenv(audio.SOUNDFONT_ENV, raising=False)
    monkeypatch.setattr(audio, "SYSTEM_SOUNDFONTS", ())
    monkeypatch.setattr(audio, "_pretty_midi_soundfont", lambda: None)
    with pytest.raises(TunesmithError, match="no SoundFont found") as err:
        audio.find_soundfont()
    assert "fluid-soundfont-gm" in str(err.value) and audio.SOUNDFONT_ENV in str(err.value)


# --------------------------------------------------------------------------- render


def test_render_bach_chorale(chorale, timgm):
    wave = audio.render(chorale, sample_rate=SR, soundfont=timgm)
    duration = chorale.to("second").end()
    assert wave.dtype == np.float32 and wave.ndim == 2 and wave.shape[0] == 2
    seconds = wave.shape[1] / SR
    assert duration <= seconds <= duration + audio.TAIL_SECONDS + 0.05
    assert abs(seconds - duration) < 1.0
    assert rms(wave) > 0.03  # clearly audible, not near-silence
    assert min(rms(wave[0]), rms(wave[1])) > 0.02  # both channels carry the music
    peak = float(np.abs(wave).max())
    assert peak <= 1.0
    assert peak == pytest.approx(10 ** (audio.PEAK_DBFS / 20), abs=0.005)  # about -1 dBFS
    assert rms(wave[:, -SR // 20 :]) < 0.2 * rms(wave)  # the end fades out instead of stopping dead


def test_render_leaves_the_score_alone(chorale_opening, timgm):
    before = chorale_opening.copy()
    audio.render(chorale_opening, soundfont=timgm)
    assert chorale_opening == before


def test_render_sample_rate_sets_the_number_of_samples(chorale_opening, timgm):
    full = audio.render(chorale_opening, sample_rate=44100, soundfont=timgm)
    half = audio.render(chorale_opening, sample_rate=22050, soundfont=timgm)
    assert abs(half.shape[1] * 2 - full.shape[1]) <= 4


@pytest.mark.parametrize("sample_rate", [0, 22050.5, 1_000_000])
def test_render_rejects_odd_sample_rates(chorale_opening, timgm, sample_rate):
    with pytest.raises(TunesmithError, match="sample rate"):
        audio.render(chorale_opening, sample_rate=sample_rate, soundfont=timgm)


@pytest.mark.parametrize("program, pitch", [(0, 57), (0, 69), (0, 76), (24, 57), (24, 69)])
def test_notes_sound_at_their_pitch(timgm, program, pitch):
    # symusic 0.5.9 ignores SoundFont root keys; without the fixed copy these are 1-2 octaves off.
    wave = audio.render(one_track([(0, 2, pitch, 100)], program=program), soundfont=timgm)
    expected = 440 * 2 ** ((pitch - 69) / 12)
    cents = 1200 * np.log2(fundamental(wave.mean(axis=0)[: SR // 2], SR) / expected)
    assert abs(cents) < 30


def test_velocity_sets_loudness(timgm):
    wave = audio.render(one_track([(0, 1, 60, 120), (2, 1, 60, 40)]), soundfont=timgm)
    loud, soft = rms(wave[:, : SR // 2]), rms(wave[:, SR : SR + SR // 2])
    drop_db = 20 * np.log10(soft / loud)
    assert drop_db == pytest.approx(40 * np.log10(40 / 120), abs=3)  # (v/127)^2: about -19 dB


def test_drum_track_sounds_different_from_the_same_notes_on_piano(timgm):
    groove = [(beat / 2, 0.25, pitch, 100) for beat, pitch in enumerate([36, 42, 38, 42] * 2)]
    drums = audio.render(one_track(groove, is_drum=True), soundfont=timgm)
    piano = audio.render(one_track(groove, is_drum=False), soundfont=timgm)
    assert rms(drums) > 0.02 and rms(piano) > 0.02
    n = min(drums.shape[1], piano.shape[1])
    correlation = np.corrcoef(drums[:, :n].ravel(), piano[:, :n].ravel())[0, 1]
    assert abs(correlation) < 0.3

    def brightness(x):  # spectral centroid in Hz
        spectrum = np.abs(np.fft.rfft(x.mean(axis=0)))
        return float((spectrum * np.fft.rfftfreq(x.shape[1], 1 / SR)).sum() / spectrum.sum())

    assert brightness(drums) > 1.5 * brightness(piano)  # cymbals and snare are noisy, bright sounds


def test_drum_kit_missing_from_the_soundfont_falls_back_to_the_standard_kit(timgm):
    groove = [(beat / 2, 0.25, 38, 100) for beat in range(4)]
    wave = audio.render(one_track(groove, program=100, is_drum=True), soundfont=timgm)
    assert rms(wave) > 0.01


def test_empty_score_has_nothing_to_render(timgm):
    with pytest.raises(TunesmithError, match="nothing to render: the score has no notes"):
        audio.render(symusic.Score(480), soundfont=timgm)
    score = symusic.Score(480)
    score.tracks.append(symusic.Track("silent", 0, False))
    with pytest.raises(TunesmithError, match="nothing to render"):
        audio.render(score, soundfont=timgm)


def test_broken_soundfont_is_named(chorale_opening, tmp_path):
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"this is not a SoundFont")
    with pytest.raises(BadInputError, match="not a valid SoundFont") as err:
        audio.render(chorale_opening, soundfont=broken)
    assert err.value.path == str(broken)


def test_fixed_soundfont_copy_is_made_once(timgm):
    first = audio._playable_soundfont(timgm)
    stamp = first.path.stat().st_mtime_ns
    audio._fixed_soundfont.cache_clear()
    again = audio._playable_soundfont(timgm)
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp
    assert (0, 0) in again.presets and (128, 0) in again.presets


# --------------------------------------------------------------------------- write_audio


def test_write_wav(chorale_opening, timgm, tmp_path):
    path = audio.write_audio(chorale_opening, tmp_path / "out" / "bach.wav", soundfont=timgm)
    assert path == tmp_path / "out" / "bach.wav"
    info = soundfile.info(str(path))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "PCM_16", SR, 2)
    data, rate = soundfile.read(str(path), dtype="float32")
    expected = audio.render(chorale_opening, soundfont=timgm)
    assert rate == SR and data.shape == expected.T.shape
    assert np.abs(data - expected.T).max() < 1e-3  # 16-bit rounding only
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_write_flac_at_another_sample_rate(chorale_opening, timgm, tmp_path):
    path = audio.write_audio(chorale_opening, tmp_path / "bach.FLAC", sample_rate=22050, soundfont=timgm)
    info = soundfile.info(str(path))
    assert (info.format, info.samplerate, info.channels) == ("FLAC", 22050, 2)
    assert info.duration == pytest.approx(chorale_opening.to("second").end() + audio.TAIL_SECONDS, abs=0.6)


@pytest.mark.parametrize("name", ["bach.aiff", "bach.ogg", "bach"])
def test_unsupported_audio_format(chorale_opening, timgm, tmp_path, name):
    target = tmp_path / name
    with pytest.raises(BadInputError, match="unsupported audio format") as err:
        audio.write_audio(chorale_opening, target, soundfont=timgm)
    assert err.value.path == str(target)
    assert not target.exists()
