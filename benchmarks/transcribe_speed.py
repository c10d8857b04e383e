"""How fast is audio in, beside audio out? Renders a ~3-minute piano piece, transcribes it back, and prints
the speed of every stage in seconds of audio per second (x realtime), then the round trip's note F1.

    PYTHONPATH=src python benchmarks/transcribe_speed.py [--piece mozart/k545/movement1_exposition]
        [--seconds 180] [--repeats 2] [--f1-pieces bach/bwv66.6,mozart/k545/movement1_exposition,...]

Needs the audio extra (make install-audio). The baseline is `render` at 44100 Hz, as in
benchmarks/render_speed.py; "x baseline" is each case's time divided by the baseline's (above 1 =
slower). Times are the best of --repeats runs after a warm-up run; the first transcription's extra
time (importing librosa and compiling its beat tracker, loading the ONNX model) is shown apart.
The F1 table renders each corpus piece on the piano at 22050 Hz, transcribes it, and compares notes
with mir_eval (onsets within 50 ms, same pitch, offsets ignored): raw basic-pitch vs the cleaned,
quantised score tunesmith writes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import symusic
from music21 import corpus

from tunesmith import audio
from tunesmith import transcribe as T
from tunesmith.data.load import load_pieces
from tunesmith.data.sources import SourceFile

DEFAULT_PIECE = "mozart/k545/movement1_exposition"
F1_PIECES = ("bach/bwv66.6", "bach/bwv10.7", "mozart/k545/movement1_exposition", "chopin/mazurka06-2",
             "schumann_clara/polonaise_op1n1", "joplin/maple_leaf_rag")


def corpus_piano(name: str) -> symusic.Score:
    """A music21 corpus piece, read as `tunesmith data build` reads it, with every track on the piano."""
    path = Path(str(corpus.getWork(name)))
    score = load_pieces(SourceFile(str(path), f"music21:{name}", name.split("/")[0])).pieces[0][0]
    for track in score.tracks:
        track.program, track.is_drum = 0, False
    return score


def looped(score: symusic.Score, seconds: float) -> symusic.Score:
    """`score` repeated (or cut) to `seconds` of music."""
    while score.to("second").end() < seconds:
        shifted = score.shift_time(score.end())
        for track, extra in zip(score.tracks, shifted.tracks):
            track.notes.extend(extra.notes)
    return score.to("second").clip(0, seconds, clip_end=True)


def best_time(job, repeats: int) -> tuple[float, float, object]:
    """(first run's time, best time of `repeats` further runs, last result)."""
    start = time.perf_counter()
    result = job()
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = job()
        best = min(best, time.perf_counter() - start)
    return first, best, result


def note_f1(reference: symusic.Score, intervals: np.ndarray, pitches: np.ndarray) -> tuple[float, float, float]:
    import mir_eval

    ref = np.array(sorted((n.time, n.time + n.duration, n.pitch)
                          for t in reference.to("second").tracks for n in t.notes))
    keep = intervals[:, 1] > intervals[:, 0]
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref[:, :2], mir_eval.util.midi_to_hz(ref[:, 2]), intervals[keep], mir_eval.util.midi_to_hz(pitches[keep]),
        onset_tolerance=0.05, offset_ratio=None)
    return p, r, f


def speed_table(args) -> None:
    score = looped(corpus_piano(args.piece), args.seconds)
    print(f"piece: {args.piece} (piano), looped to {score.to('second').end():.1f} s, {score.note_num()} notes")
    audio.render(score, 44100)  # SoundFont fix-up and synthesizer caches, outside the timings
    rows: list[tuple[str, float, float, float]] = []  # name, audio seconds, first s, best s
    with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as folder:
        wav = Path(folder) / "piece.wav"
        for rate in (44100, 22050):
            first, best, result = best_time(lambda: audio.render(score, rate), args.repeats)
            rows.append((f"render {rate} Hz" + (" (baseline)" if rate == 44100 else ""), result.shape[1] / rate,
                         first, best))
        audio.write_audio(score, wav, 44100)
        seconds = float(audio.soundfile.info(str(wav)).duration)

        cold = time.perf_counter()
        T.transcribe_audio(wav)
        cold = time.perf_counter() - cold
        samples = T.load_audio(wav)[0]
        stages = {}
        first, best, _ = best_time(lambda: T.load_audio(wav), args.repeats)
        stages["read + resample 44100 -> 22050 Hz"] = (first, best)
        first, best, activations = best_time(lambda: T.posteriorgrams(samples), args.repeats)
        stages["basic-pitch model (onnxruntime)"] = (first, best)
        first, best, raw_notes = best_time(lambda: T.model_notes(activations, min_frames=T.MIN_FRAMES), args.repeats)
        stages["note decoding (basic-pitch)"] = (first, best)
        options = T.TranscribeOptions()

        def tidy():
            notes = T.clean_notes(raw_notes, options)
            tempos = T.tempo_map(T.track_beats(notes, len(samples) / T.MODEL_RATE), notes[0].start)
            return T.quantized_score(notes, tempos, T.choose_grid(np.array([n.start for n in notes]), tempos))

        first, best, _ = best_time(tidy, args.repeats)
        stages["clean-up, beats, tempo map, quantise"] = (first, best)
        first, best, _ = best_time(lambda: T.transcribe_audio(wav), args.repeats)
        stages["transcribe, whole (WAV file -> Score)"] = (first, best)
        first, best, _ = best_time(lambda: T.transcribe_audio(wav, T.TranscribeOptions(raw=True)), args.repeats)
        stages["transcribe --raw (no clean-up)"] = (first, best)
        rows += [(name, seconds, first, best) for name, (first, best) in stages.items()]

    baseline = rows[0][3]
    header = f"{'case':<40} {'audio s':>8} {'first s':>8} {'best s':>8} {'realtime x':>11} {'x baseline':>11}"
    print(f"first transcription in this process (imports, ONNX model, beat tracker compile): {cold:.2f} s\n")
    print(header)
    print("-" * len(header))
    for name, audio_s, first, best in rows:
        print(f"{name:<40} {audio_s:8.1f} {first:8.3f} {best:8.3f} {audio_s / best:11.1f} {best / baseline:11.2f}")


def f1_table(pieces: list[str]) -> None:
    header = (f"{'piece':<34} {'audio s':>8} {'notes':>6} {'raw F1':>7} {'F1':>6} {'P':>6} {'R':>6} "
              f"{'grid':>5} {'BPM':>6}")
    print(f"\nround trip: render (piano, 22050 Hz) -> transcribe -> mir_eval note F1 (onset 50 ms)\n{header}")
    print("-" * len(header))
    for name in pieces:
        score = corpus_piano(name)
        samples = audio.render(score, 22050)
        raw = T.transcribe_audio(samples, T.TranscribeOptions(raw=True), sample_rate=22050)
        clean = T.transcribe_audio(samples, sample_rate=22050)
        p, r, f = note_f1(score, *clean.note_times())
        raw_f = note_f1(score, *raw.note_times())[2]
        print(f"{name:<34} {clean.duration:8.1f} {score.note_num():6d} {raw_f:7.3f} {f:6.3f} {p:6.3f} {r:6.3f} "
              f"{clean.grid:5d} {clean.tempo:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--piece", default=DEFAULT_PIECE, help="music21 corpus name")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--f1-pieces", default=",".join(F1_PIECES), help="comma-separated corpus names ('' = none)")
    args = parser.parse_args()
    print(T.check_audio_extra())
    speed_table(args)
    if args.f1_pieces:
        f1_table([p.strip() for p in args.f1_pieces.split(",") if p.strip()])


if __name__ == "__main__":
    main()
