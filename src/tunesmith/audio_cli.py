"""`tunesmith render` and `tunesmith transcribe`, and the audio/score options of `tunesmith generate`.

    tunesmith render piece.mid --out piece.wav|.flac|.mp3 [--soundfont FILE.sf2] [--sample-rate 44100]
    tunesmith transcribe take.wav --out take.mid|.musicxml|.mxl [--raw] [--grid 4] [--tempo 96] [--meter 3/4]

`add_commands(subparsers)` registers both; cli.build_parser calls it. For `generate`,
`add_generate_options(parser)` adds --prompt-audio and --format, `prepare_generate(args)` turns a
--prompt-audio recording into the --prompt-midi file the foundation continues, and
`write_extra_formats(score, out_dir, stem, args)` writes the score formats asked for with --format.
Heavy imports wait until a command runs, so `tunesmith --help` stays fast.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tunesmith.errors import BadInputError, TunesmithError

SCORE_INPUTS = (".mid", ".midi", ".xml", ".mxl", ".musicxml", ".abc", ".krn")
MIDI_OUTPUTS = (".mid", ".midi")
EXTRA_FORMATS = ("musicxml", "mxl")


# --------------------------------------------------------------------------- shared helpers


def read_score(path: str | Path):
    """A symusic Score from a MIDI file, or from the first piece of a MusicXML/ABC/kern file."""
    import symusic

    path = Path(path)
    if not path.is_file():
        raise BadInputError(path, "no such file")
    suffix = path.suffix.lower()
    if suffix not in SCORE_INPUTS:
        raise BadInputError(path, f"not a score file: use one of {', '.join(SCORE_INPUTS)}")
    if suffix in (".mid", ".midi"):
        from tunesmith.data.load import midi_structure_problem

        data = path.read_bytes()
        problem = midi_structure_problem(data)
        if problem:
            raise BadInputError(path, problem)
        try:
            score = symusic.Score.from_midi(data)
        except Exception as exc:
            raise BadInputError(path, f"not a readable MIDI file ({type(exc).__name__}: {exc})") from None
    else:
        from tunesmith.data.load import load_pieces
        from tunesmith.data.sources import SourceFile

        result = load_pieces(SourceFile(str(path.resolve()), str(path), path.parent.name))
        if not result.pieces:
            reason = result.skipped[0].reason if result.skipped else "no pieces"
            raise BadInputError(path, reason)
        score = result.pieces[0][0]
    if score.note_num() == 0:
        raise BadInputError(path, "the score has no notes")
    return score


def write_score(score, path: str | Path, title: str | None = None) -> Path:
    """Write a score as MIDI (.mid/.midi) or MusicXML (.musicxml/.xml/.mxl), by the suffix; atomic."""
    from tunesmith.fileio import atomic_path
    from tunesmith.score_export import MUSICXML_SUFFIXES, export_musicxml

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MIDI_OUTPUTS:
        with atomic_path(path) as tmp:
            score.dump_midi(str(tmp))
        return path
    if suffix in MUSICXML_SUFFIXES:
        return export_musicxml(score, path, title=title)
    raise BadInputError(path, f"unsupported output {suffix or '(no suffix)'!r}: use .mid, .musicxml, .xml or .mxl")


def transcribe_options(args: argparse.Namespace):
    """TranscribeOptions from the transcription flags (shared by transcribe and generate --prompt-audio)."""
    from tunesmith.transcribe import TranscribeOptions

    defaults = TranscribeOptions()
    options = TranscribeOptions(
        raw=getattr(args, "raw", False),
        quantize=not getattr(args, "no_quantize", False),
        grid=_value(args, "grid", defaults.grid),
        tempo=_value(args, "transcribe_tempo", defaults.tempo),
        meter=_value(args, "meter", None) or defaults.meter,
        min_velocity=_value(args, "min_velocity", defaults.min_velocity),
        min_length=_value(args, "min_length", defaults.min_length),
        merge_gap=_value(args, "merge_gap", defaults.merge_gap),
        onset_threshold=_value(args, "onset_threshold", defaults.onset_threshold),
        frame_threshold=_value(args, "frame_threshold", defaults.frame_threshold),
        program=_value(args, "program", defaults.program),
    )
    options.check()
    return options


def _value(args: argparse.Namespace, name: str, default):
    value = getattr(args, name, None)
    return default if value is None else value


def _realtime(seconds_of_audio: float, seconds: float) -> str:
    return f"{seconds_of_audio / max(seconds, 1e-9):.0f}x realtime"


# --------------------------------------------------------------------------- render


def cmd_render(args: argparse.Namespace) -> None:
    import soundfile

    from tunesmith.audio import find_soundfont, write_audio

    source = Path(args.input)
    out = Path(args.out) if args.out else source.with_suffix(".wav")
    score = read_score(source)
    soundfont = find_soundfont(args.soundfont)
    start = time.perf_counter()
    write_audio(score, out, sample_rate=args.sample_rate, soundfont=soundfont)
    seconds = time.perf_counter() - start
    duration = soundfile.info(str(out)).duration
    print(f"{out}: {duration:.1f} s of audio at {args.sample_rate} Hz, {score.note_num()} notes, rendered in "
          f"{seconds:.2f} s ({_realtime(duration, seconds)}) with {soundfont.name}")
    if args.pianoroll:
        from tunesmith.pianoroll import save_pianoroll

        print(f"{save_pianoroll(score, out.with_suffix('.png'), title=source.stem)}: piano roll")


# --------------------------------------------------------------------------- transcribe


def cmd_transcribe(args: argparse.Namespace) -> None:
    from tunesmith.transcribe import transcribe_audio

    source = Path(args.input)
    out = Path(args.out) if args.out else source.with_suffix(".mid")
    options = transcribe_options(args)
    start = time.perf_counter()
    result = transcribe_audio(source, options)
    seconds = time.perf_counter() - start
    if result.score.note_num() == 0:
        raise BadInputError(source, "no notes found: the recording is silent or has no pitched sound")
    timing = ("raw: seconds kept at 120 BPM" if options.raw else "not quantised" if not options.quantize else
              f"tempo {result.tempo:.0f} BPM" + (f" ({len(result.score.tempos) - 1} tempo changes)"
                                                 if len(result.score.tempos) > 1 else "")
              + f", grid {result.grid} steps per beat"
              + (f", {-result.offset:.2f} s before the recording" if result.offset < 0 else
                 f", {result.offset:.2f} s of lead-in cut" if result.offset > 0.005 else ""))
    print(f"{source}: {result.duration:.1f} s of audio at {result.sample_rate} Hz -> {result.score.note_num()} notes; "
          f"{timing}; transcribed in {seconds:.1f} s ({_realtime(result.duration, seconds)})")
    kind = "MIDI" if out.suffix.lower() in MIDI_OUTPUTS else "MusicXML"
    print(f"{write_score(result.score, out, title=source.stem)}: {kind}")
    if args.pianoroll:
        from tunesmith.pianoroll import save_pianoroll

        print(f"{save_pianoroll(result.score, out.with_suffix('.png'), title=source.stem)}: piano roll")


def _add_transcription_flags(p: argparse.ArgumentParser) -> None:
    """The clean-up flags (None = TranscribeOptions' default; values are checked by TranscribeOptions.check)."""
    p.add_argument("--grid", type=int, default=None, metavar="STEPS",
                   help="quantisation steps per beat: 4 = sixteenths, 12 = sixteenth triplets, also 1 2 3 6 8 16 24 "
                        "(default: chosen from the music among 4, 6, 8, 12)")
    p.add_argument("--min-velocity", type=int, default=None, help="drop notes below this velocity, 0-127 (default 50)")
    p.add_argument("--min-length", type=float, default=None,
                   help="drop notes shorter than this, in seconds (default 0.06)")
    p.add_argument("--merge-gap", type=float, default=None,
                   help="join a weakly re-struck note to the held one before it when this close, in seconds; "
                        "0 = never (default 0.03)")


def add_commands(subparsers) -> None:
    """Register `render` and `transcribe` on the `tunesmith` sub-command parsers."""
    r = subparsers.add_parser("render", help="a MIDI (or MusicXML/ABC/kern) file -> WAV, FLAC or MP3 audio",
                              description="Render a score to audio offline with a General MIDI SoundFont: the one "
                                          "given, else $TUNESMITH_SOUNDFONT, else Debian's fluid-soundfont-gm, else "
                                          "the TimGM6mb.sf2 inside pretty_midi. Drums (channel 10) sound as drums; the "
                                          "peak is normalised to -1 dBFS and trailing silence is cut.")
    r.add_argument("input", help="a .mid file (or .musicxml .mxl .xml .abc .krn: its first piece)")
    r.add_argument("--out", help="a .wav, .flac or .mp3 file (default: the input's name with .wav)")
    r.add_argument("--soundfont", help="a .sf2/.sf3 General MIDI SoundFont")
    r.add_argument("--sample-rate", type=int, default=44100, help="Hz (default 44100; MP3: 8000-48000)")
    r.add_argument("--pianoroll", action="store_true", help="also write the piano roll, a .png beside --out")
    r.set_defaults(func=cmd_render)

    t = subparsers.add_parser("transcribe", help="a recording (WAV, FLAC, MP3...) -> MIDI or MusicXML",
                              description="Transcribe a recording with basic-pitch (the audio extra), then clean it "
                                          "up into music: drop faint and very short notes, join re-struck notes, track "
                                          "the beats into a tempo map, quantise to a grid and start at a bar line.")
    t.add_argument("input", help="a .wav, .flac, .mp3, .ogg, .aif or .aiff file")
    t.add_argument("--out", help="a .mid, .musicxml, .xml or .mxl file (default: the input's name with .mid)")
    t.add_argument("--raw", action="store_true", help="basic-pitch's notes as they are: no clean-up, no quantising")
    t.add_argument("--no-quantize", action="store_true", help="clean up but keep the recording's timing (120 BPM)")
    t.add_argument("--tempo", dest="transcribe_tempo", type=float, default=None, metavar="BPM",
                   help="track the beats at this tempo in BPM (default: estimated)")
    t.add_argument("--meter", default=None, help="time signature of the result, e.g. 3/4 (default 4/4)")
    _add_transcription_flags(t)
    t.add_argument("--onset-threshold", type=float, default=None, help="basic-pitch's onset threshold (default 0.5)")
    t.add_argument("--frame-threshold", type=float, default=None, help="basic-pitch's frame threshold (default 0.3)")
    t.add_argument("--program", type=int, default=None, help="GM program of the notes (default 0, piano)")
    t.add_argument("--pianoroll", action="store_true", help="also write the piano roll, a .png beside --out")
    t.set_defaults(func=cmd_transcribe)


# --------------------------------------------------------------------------- generate


def add_generate_options(g: argparse.ArgumentParser) -> None:
    """--prompt-audio and --format for `tunesmith generate`."""
    g.add_argument("--prompt-audio", help="continue the opening of this recording (transcribed first; "
                                          "the transcription is written to --out as NAME-prompt.mid)")
    g.add_argument("--format", dest="formats", action="append", choices=EXTRA_FORMATS, default=None,
                   help="also write the score as MusicXML (.musicxml) or compressed MusicXML (.mxl); repeatable")


def prepare_generate(args: argparse.Namespace) -> None:
    """Before generating: transcribe --prompt-audio into the --prompt-midi file the model continues."""
    prompt_audio = getattr(args, "prompt_audio", None)
    if not prompt_audio:
        return
    if getattr(args, "prompt_midi", None):
        raise TunesmithError("give --prompt-midi or --prompt-audio, not both")
    path = prompt_audio_to_midi(prompt_audio, args.out, name=f"{getattr(args, 'name', 'sample')}-prompt",
                                meter=getattr(args, "meter", None))
    print(f"prompt: {prompt_audio} transcribed to {path}")
    args.prompt_midi = str(path)


def prompt_audio_to_midi(path: str | Path, workdir: str | Path, name: str | None = None,
                         meter: str | None = None, options=None) -> Path:
    """Transcribe a recording (cleaned up and quantised) into `workdir/NAME.mid` for use as a MIDI prompt.

    `meter` (e.g. "3/4", the meter asked of the generation) sets the transcription's time signature,
    so the prompt's bars are the bars the model continues. Returns the MIDI path.
    """
    from dataclasses import replace

    from tunesmith.transcribe import TranscribeOptions, transcribe

    options = options or TranscribeOptions()
    if meter:
        options = replace(options, meter=meter)
    score = transcribe(path, options)
    target = Path(workdir) / f"{name or Path(path).stem + '-prompt'}.mid"
    return write_score(score, target)


def export_musicxml(score, path: str | Path, title: str | None = None) -> Path:
    """MusicXML (.musicxml/.xml) or compressed MusicXML (.mxl) of a score: tunesmith.score_export."""
    from tunesmith.score_export import export_musicxml as export

    return export(score, path, title=title)


def write_extra_formats(score, out_dir: str | Path, stem: str, args: argparse.Namespace) -> dict[str, Path]:
    """After generating a sample: the score formats asked for with --format, as {format: path}."""
    written = {}
    for fmt in dict.fromkeys(getattr(args, "formats", None) or ()):
        written[fmt] = export_musicxml(score, Path(out_dir) / f"{stem}.{fmt}", title=stem)
    return written
