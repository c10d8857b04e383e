"""MusicXML export through music21: what is written opens back in music21 with the same notes."""

import pytest
import symusic
from music21 import converter

from conftest import corpus_score
from tunesmith.errors import BadInputError, TunesmithError
from tunesmith.score_export import export_musicxml, to_music21


def sounding_pitches(stream) -> list[int]:
    """Sorted MIDI pitches of the notes of a music21 score, ties joined (one per sounding note)."""
    return sorted(p.midi for n in stream.stripTies().flatten().notes for p in n.pitches)


@pytest.fixture(scope="module")
def chorale() -> symusic.Score:
    return corpus_score("bach/bwv66.6")


@pytest.mark.parametrize("suffix", [".musicxml", ".mxl"])
def test_musicxml_opens_back_in_music21(chorale, tmp_path, suffix):
    path = export_musicxml(chorale, tmp_path / f"chorale{suffix}", title="Christ unser Herr")
    assert path == tmp_path / f"chorale{suffix}" and path.stat().st_size > 1000
    back = converter.parse(str(path))
    assert sounding_pitches(back) == sorted(n.pitch for t in chorale.tracks for n in t.notes)
    assert [p.partName for p in back.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert back.metadata.movementName == "Christ unser Herr"
    assert back.recurse().getElementsByClass("TimeSignature")[0].ratioString == "4/4"
    assert len(back.parts[0].getElementsByClass("Measure")) >= 9
    if suffix == ".musicxml":
        assert b"<score-partwise" in path.read_bytes()[:2000]


def test_title_defaults_to_the_file_name(chorale, tmp_path):
    back = converter.parse(str(export_musicxml(chorale, tmp_path / "my-chorale.xml")))
    assert back.metadata.movementName == "my-chorale"


def test_piano_piece_durations_survive(tmp_path):
    sonata = corpus_score("mozart/k545/movement1_exposition")
    stream = to_music21(sonata)
    quarters = sorted(float(n.duration.quarterLength) for n in stream.stripTies().flatten().notes)
    assert len(quarters) > 100 and quarters[0] >= 0.25  # sixteenths and longer, as written


def test_bad_requests(chorale, tmp_path):
    with pytest.raises(BadInputError, match="not a MusicXML file name"):
        export_musicxml(chorale, tmp_path / "chorale.pdf")
    with pytest.raises(TunesmithError, match="no notes"):
        export_musicxml(symusic.Score(480), tmp_path / "empty.musicxml")
    assert not (tmp_path / "empty.musicxml").exists()
