"""How fast is tunesmith.audio? Renders a ~3-minute string quartet and prints a table.

    PYTHONPATH=src python benchmarks/render_speed.py [--soundfont PATH] [--seconds 180] [--repeats 3]

Cases: `render` at 22050 / 44100 / 48000 Hz, `write_audio` to WAV and FLAC, symusic's bare
`Synthesizer.render` (none of tunesmith's fixes: root keys, velocity, tail, normalisation) and,
unless --no-sine, pretty_midi's fluidsynth-free sine-wave `synthesize`. The baseline is
`render` at 44100 Hz; "x baseline" is each case's time divided by the baseline's
(above 1 = slower). Times are the best of --repeats runs after one warm-up run, whose time
(SoundFont fix-up on first use, synthesizer sample cache) is shown separately.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Callable

import soundfile
import symusic
from music21 import corpus, midi

from tunesmith import audio

DEFAULT_PIECE = "beethoven/opus18no1/movement1"


def load_piece(name: str, seconds: float) -> symusic.Score:
    """A music21 corpus piece as a symusic Score, looped or cut to `seconds` of music."""
    stream = corpus.parse(name)
    score = symusic.Score.from_midi(midi.translate.music21ObjectToMidiFile(stream).writestr())
    while score.to("second").end() < seconds:
        shifted = score.shift_time(score.end())
        for track, extra in zip(score.tracks, shifted.tracks):
            track.notes.extend(extra.notes)
    return score.to("second").clip(0, seconds, clip_end=True)


def best_time(job: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """(warm-up time, best time of `repeats` further runs, last result)."""
    start = time.perf_counter()
    result = job()
    warm_up = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = job()
        best = min(best, time.perf_counter() - start)
    return warm_up, best, result


def sine_baseline(score: symusic.Score, sample_rate: int):
    """pretty_midi's additive sine synthesis of the same notes (no SoundFont)."""
    import pretty_midi

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "piece.mid"
        score.dump_midi(str(path))
        return pretty_midi.PrettyMIDI(str(path)).synthesize(fs=sample_rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--piece", default=DEFAULT_PIECE, help="music21 corpus name")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--soundfont", default=None, help="default: tunesmith.audio.find_soundfont()")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-sine", action="store_true", help="skip the pretty_midi sine baseline")
    args = parser.parse_args()

    score = load_piece(args.piece, args.seconds)
    soundfont = audio.find_soundfont(args.soundfont)
    tracks = ", ".join(f"{t.name or '?'} (program {t.program})" for t in score.tracks if len(t.notes))
    print(f"piece: {args.piece}, {score.to('second').end():.1f} s, {score.note_num()} notes; {tracks}")
    print(f"SoundFont: {soundfont}")

    cold_start = time.perf_counter()
    fixed = audio._playable_soundfont(soundfont)
    elapsed = time.perf_counter() - cold_start
    print(f"SoundFont fix-up (first use only, cached afterwards): {elapsed:.2f} s -> {fixed.path}")

    with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as folder:
        rows, sizes = run_cases(score, soundfont, fixed.path, Path(folder), args)
    baseline = next(best for name, _, _, best in rows if "baseline" in name)

    header = f"{'case':<38} {'audio s':>8} {'first s':>8} {'best s':>8} {'realtime x':>11} {'x baseline':>11}"
    print()
    print(header)
    print("-" * len(header))
    for name, seconds, warm_up, best in rows:
        print(f"{name:<38} {seconds:8.1f} {warm_up:8.3f} {best:8.3f} {seconds / best:11.0f} {best / baseline:11.2f}")
    print(f"\nfile sizes: WAV {sizes.get('.wav', 0):.1f} MB, FLAC {sizes.get('.flac', 0):.1f} MB")


def run_cases(score: symusic.Score, soundfont: Path, fixed: Path, out: Path, args) -> tuple[list, dict]:
    """Time every case; returns rows (name, audio seconds, warm-up s, best s) and output sizes in MB."""
    cases: list[tuple[str, int, Callable[[], object]]] = [
        ("render 22050 Hz", 22050, lambda: audio.render(score, 22050, soundfont)),
        ("render 44100 Hz (baseline)", 44100, lambda: audio.render(score, 44100, soundfont)),
        ("render 48000 Hz", 48000, lambda: audio.render(score, 48000, soundfont)),
        ("write_audio WAV 44100 Hz", 44100, lambda: audio.write_audio(score, out / "a.wav", 44100, soundfont)),
        ("write_audio FLAC 44100 Hz", 44100, lambda: audio.write_audio(score, out / "a.flac", 44100, soundfont)),
        ("bare symusic render 44100 Hz", 44100, lambda: audio._synthesizer(str(fixed), 44100).render(score, True)),
    ]
    if not args.no_sine:
        cases.append(("pretty_midi sine synthesize 44100 Hz", 44100, lambda: sine_baseline(score, 44100)))
    rows = []
    for name, rate, job in cases:
        warm_up, best, result = best_time(job, args.repeats if "sine" not in name else 1)
        seconds = soundfile.info(str(result)).duration if isinstance(result, Path) else result.shape[-1] / rate
        rows.append((name, seconds, warm_up, best))
    sizes = {p.suffix: p.stat().st_size / 1e6 for p in out.iterdir()}
    return rows, sizes


if __name__ == "__main__":
    main()
