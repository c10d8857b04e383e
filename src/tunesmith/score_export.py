"""Scores out: a `symusic.Score` as MusicXML (through music21), to open in MuseScore, Finale, Sibelius...

The score goes through MIDI into music21, whose importer quantises onsets and durations to
sixteenths and triplets, splits each track into a part, adds measures, ties and rests, and whose
MusicXML writer spells it. `.musicxml` and `.xml` are plain MusicXML, `.mxl` is compressed MusicXML.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from pathlib import Path

import symusic

from tunesmith.errors import BadInputError, TunesmithError
from tunesmith.fileio import atomic_path

MUSICXML_SUFFIXES = (".musicxml", ".xml", ".mxl")
NOTHING_TO_EXPORT = "nothing to export: the score has no notes"


def to_music21(score: symusic.Score, title: str | None = None):
    """The score as a music21 `stream.Score` (quantised to sixteenths and triplets, in measures)."""
    from music21 import metadata
    from music21 import midi as m21_midi

    if score.note_num() == 0:
        raise TunesmithError(NOTHING_TO_EXPORT)
    midi_file = m21_midi.MidiFile()
    midi_file.readstr(score.dumps_midi())
    with _quiet():
        try:
            stream = m21_midi.translate.midiFileToStream(midi_file, quantizePost=True)
        except Exception as exc:  # music21 raises many kinds of exceptions on odd input
            raise TunesmithError(f"music21 could not read the score: {type(exc).__name__}: {exc}") from exc
    stream.metadata = metadata.Metadata()
    if title:
        stream.metadata.title = title
        stream.metadata.movementName = title
    for part, track in zip(stream.parts, [t for t in score.tracks if len(t.notes)]):
        if track.name and not part.partName:
            part.partName = track.name
    return stream


def export_musicxml(score: symusic.Score, path: str | Path, title: str | None = None) -> Path:
    """Write `score` as MusicXML (`.musicxml`/`.xml`) or compressed MusicXML (`.mxl`), atomically.

    The title defaults to the file name's stem. Returns `path`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MUSICXML_SUFFIXES:
        raise BadInputError(path, f"not a MusicXML file name: use {', '.join(MUSICXML_SUFFIXES)}")
    stream = to_music21(score, title if title is not None else path.stem)
    with tempfile.TemporaryDirectory(prefix="tunesmith-musicxml-") as folder:
        written = Path(folder) / f"score{suffix}"
        with _quiet():
            try:
                stream.write("mxl" if suffix == ".mxl" else "musicxml", fp=str(written))
            except Exception as exc:
                raise TunesmithError(f"music21 could not write MusicXML: {type(exc).__name__}: {exc}") from exc
        with atomic_path(path) as tmp:
            tmp.write_bytes(written.read_bytes())
    return path


@contextlib.contextmanager
def _quiet():
    """music21 warns (and prints) about everything it guesses while importing MIDI."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield
