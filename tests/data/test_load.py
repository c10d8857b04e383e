"""Tests for tunesmith.data.load: source files → (symusic.Score, PieceMeta) pieces."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import pytest
import symusic
from music21 import converter, midi, stream

from tunesmith.data.load import (
    LoadResult,
    load_pieces,
    measure_play_order,
    midi_structure_problem,
    music21_to_symusic,
    parse_abc_tune,
    split_abc_tunes,
)
from tunesmith.data.metadata import content_hash
from tunesmith.data.sources import SourceFile, iter_source_files
from tunesmith.errors import BadInputError

KEY_FORM = re.compile(r"^[A-G][#b]? (major|minor)$")


def corpus_file(display: str) -> SourceFile:
    """The SourceFile of one bundled corpus file, e.g. "music21:bach/bwv66.6.mxl"."""
    collection = display.split(":")[1].split("/")[0]
    files, _ = iter_source_files([f"music21:{collection}"])
    return next(f for f in files if f.display == display)


def local_file(path: Path, labels: dict[str, str] | None = None) -> SourceFile:
    return SourceFile(str(path), str(path), path.parent.name, tuple(sorted((labels or {}).items())))


def c_major_score(tpq: int = 480, program: int = 40, with_drums: bool = True) -> symusic.Score:
    """Two bars of C major (scale and triads), a drum track, 90 BPM, 3/4."""
    score = symusic.Score(tpq)
    track = symusic.Track(program=program, is_drum=False, name="lead")
    for i, pitch in enumerate([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60, 55, 60]):
        track.notes.append(symusic.Note(tpq + i * tpq, tpq, pitch, 80))  # starts after one beat of silence
    for pitch in (48, 52, 55):
        track.notes.append(symusic.Note(tpq, 6 * tpq, pitch, 70))
    score.tracks.append(track)
    if with_drums:
        drums = symusic.Track(program=0, is_drum=True, name="drums")
        for i in range(6):
            drums.notes.append(symusic.Note(tpq + i * tpq, tpq // 2, 36 if i % 2 == 0 else 38, 100))
        score.tracks.append(drums)
    score.tempos.append(symusic.Tempo(0, 90.0))
    score.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    return score


# --- music21 corpus -----------------------------------------------------------------------------


def test_bach_chorale():
    result = load_pieces(corpus_file("music21:bach/bwv66.6.mxl"))
    assert isinstance(result, LoadResult) and result.skipped == []
    assert len(result.pieces) == 1
    score, meta = result.pieces[0]
    assert isinstance(score, symusic.core.ScoreTick)
    assert meta.source == "music21:bach/bwv66.6.mxl" and meta.index == 0
    assert meta.piece_id == "music21:bach/bwv66.6.mxl#0"
    assert (meta.collection, meta.composer, meta.genre) == ("bach", "bach", "chorale")
    assert meta.programs == [52]  # sung
    assert meta.time_signatures == ["4/4"]
    assert meta.n_notes > 100 and meta.n_notes == sum(len(t.notes) for t in score.tracks)
    assert KEY_FORM.match(meta.key)
    assert (meta.key, meta.key_source) == ("F# minor", "annotated")
    assert meta.tempo == pytest.approx(96.0)
    assert 10 < meta.duration < 60
    assert len(meta.content_hash) == 16


def test_result_pickles():
    result = load_pieces(corpus_file("music21:bach/bwv66.6.mxl"))
    again = pickle.loads(pickle.dumps(result))
    score, meta = again.pieces[0]
    assert meta == result.pieces[0][1]
    assert content_hash(score) == meta.content_hash


def test_conversion_plays_like_music21_midi_export():
    for name in ("bach/bwv66.6.mxl", "palestrina/Agnus_07.krn"):
        m21 = converter.parse(corpus_file(f"music21:{name}").path)
        ours = music21_to_symusic(m21)
        theirs = symusic.Score.from_midi(midi.translate.music21ObjectToMidiFile(m21).writestr())
        assert content_hash(ours) == content_hash(theirs)
        assert ours.end() == theirs.end()


def test_repeats_expand_like_music21():
    m21 = converter.parse(corpus_file("music21:mozart/k80/movement3.mxl").path)  # repeats and a D.C.
    part = m21.parts[0]
    measures = list(part.getElementsByClass(stream.Measure))
    order = measure_play_order(part, measures)
    expected = [m.number for m in part.expandRepeats().getElementsByClass(stream.Measure)]
    assert order is not None and len(order) > len(measures)
    assert [measures[i].number for i in order] == expected


def test_runaway_repeats_are_played_as_written():
    path = corpus_file("music21:airdsAirs/book5.abc").path
    header, tunes = split_abc_tunes(Path(path).read_text(encoding="utf-8"))
    m21, _ = parse_abc_tune(header, tunes[56], {})  # "Kiss My Lady": a run of stray "::" repeat signs
    part = m21.parts[0]
    assert measure_play_order(part, list(part.getElementsByClass(stream.Measure))) is None
    written = sum(len(n.pitches) for n in part.recurse().notes if n.quarterLength > 0)
    assert sum(len(t.notes) for t in music21_to_symusic(m21).tracks) <= written


def test_kern_modal_key_and_vocal_parts():
    score, meta = load_pieces(corpus_file("music21:palestrina/Agnus_07.krn")).pieces[0]
    assert (meta.key, meta.key_source) == ("A minor", "annotated")  # *A:aeo
    assert meta.composer == "palestrina" and meta.genre == "mass"
    assert meta.programs == [52]
    assert len(score.tracks) == 5


def test_oneill_abc_gives_many_tunes_with_genres():
    result = load_pieces(corpus_file("music21:oneills1850/0550-0625.abc"))
    pieces = result.pieces
    assert len(pieces) + len(result.skipped) == 69
    assert len(pieces) > 60
    indices = [m.index for _, m in pieces]
    assert len(set(indices)) == len(indices)
    assert len({m.piece_id for _, m in pieces}) == len(pieces)
    genres = {m.genre for _, m in pieces}
    assert {"air", "jig", "reel", "waltz", "march"} <= genres
    assert all(m.composer == "trad" and m.collection == "oneills1850" for _, m in pieces)
    assert all(KEY_FORM.match(m.key) and m.key_source == "annotated" for _, m in pieces)
    assert all(m.programs == [0] for _, m in pieces)
    for s in result.skipped:
        assert re.match(r"^music21:oneills1850/0550-0625\.abc#\d+$", s.source)


def test_abc_tune_title_and_index():
    pieces = load_pieces(corpus_file("music21:oneills1850/0900-0950.abc")).pieces
    first = pieces[0][1]
    assert (first.index, first.title, first.genre) == (0, "Jackson's Cravat.", "jig")


ABC_TWO_TUNES = """%abc-2.1
X:1
T:The Test Reel
M:4/4
L:1/8
K:Dmin
|:DEFG ABcd|dcBA GFED:|
|:A2A2 B2B2|c2c2 d4:|

X:2
T:Broken
M:4/4
L:1/8
K:G
GABc d2 z

X:3
T:No Key
R:polka
M:2/4
L:1/8
K:none
CDEF|GABc|cBAG|FEDC|
"""


def test_abc_tune_header_key_and_repeats(tmp_path):
    path = tmp_path / "tunes.abc"
    path.write_text(ABC_TWO_TUNES.replace("GABc d2 z", "GABc d2 z"))
    result = load_pieces(local_file(path))
    metas = {m.index: m for _, m in result.pieces}
    reel = metas[0]
    assert (reel.title, reel.genre, reel.key, reel.key_source) == ("The Test Reel", "reel", "D minor", "annotated")
    assert reel.n_notes == 2 * (16 + 7)  # repeats are played twice
    assert reel.composer is None and reel.collection == tmp_path.name
    polka = metas[2]
    assert (polka.genre, polka.key_source) == ("polka", "estimated")  # K:none states no key
    assert polka.key == "C major"


def test_abc_bad_tune_is_skipped_others_kept(tmp_path):
    path = tmp_path / "tunes.abc"
    path.write_text(ABC_TWO_TUNES.replace("GABc d2 z", "M:\nL:0/0\nGABc d2 ]]] z"))
    result = load_pieces(local_file(path))
    kept = sorted(m.index for _, m in result.pieces)
    skipped = [s.source for s in result.skipped]
    assert kept == [0, 2]
    assert skipped == [f"{path}#1"]


def test_a_part_book_abc_file_is_one_piece_with_a_sung_part_per_voice():
    """music21's Josquin chansons keep each voice as a tune: read as one work, four voices in register order."""
    result = load_pieces(corpus_file("music21:josquin/milleRegrets.abc"))
    assert len(result.pieces) == 1 and not result.skipped
    score, meta = result.pieces[0]
    assert [t.name for t in score.tracks] == ["Superius", "Contratenor", "Tenor", "Bassus"]
    assert meta.title == "Mille regrets" and meta.programs == [52] and meta.composer == "josquin"
    means = [sum(n.pitch for n in t.notes) / len(t.notes) for t in score.tracks]
    assert means == sorted(means, reverse=True)  # the tenor sounds an octave below its treble-8 clef
    ends = [max(n.end for n in t.notes) for t in score.tracks]
    assert max(ends) - min(ends) <= score.tpq * 4  # the voices end together
    assert meta.n_notes == sum(len(t.notes) for t in score.tracks) == 293


def test_split_abc_tunes_keeps_header_and_numbers():
    header, tunes = split_abc_tunes(ABC_TWO_TUNES)
    assert header.startswith("%abc-2.1")
    assert [t.number for t in tunes] == [1, 2, 3]
    assert tunes[2].fields["R"] == "polka" and tunes[0].fields["K"] == "Dmin"


# --- MIDI -----------------------------------------------------------------------------------------


def test_midi_file(tmp_path):
    path = tmp_path / "band" / "song.mid"
    path.parent.mkdir()
    c_major_score().dump_midi(str(path))
    result = load_pieces(local_file(path, {"composer": "J.S. Bach", "title": "Little Waltz"}))
    score, meta = result.pieces[0]
    assert (meta.key, meta.key_source) == ("C major", "estimated")
    assert meta.programs == [-1, 40]
    assert meta.tempo == pytest.approx(90.0)
    assert meta.time_signatures == ["3/4"]
    assert meta.n_notes == 13 + 3 + 6
    assert meta.duration == pytest.approx(13 * 60 / 90, abs=0.01)  # first onset to last note end
    assert (meta.composer, meta.title, meta.genre) == ("bach", "Little Waltz", "waltz")
    assert meta.labels == {"composer": "J.S. Bach", "title": "Little Waltz"}
    assert meta.collection == "band" and meta.source == str(path)


def test_midi_key_signature_is_only_a_hint(tmp_path):
    wrong = c_major_score()
    wrong.key_signatures.append(symusic.KeySignature(0, 5, 0))  # B major: does not fit the notes
    wrong.dump_midi(str(tmp_path / "wrong.mid"))
    assert load_pieces(local_file(tmp_path / "wrong.mid")).pieces[0][1].key == "C major"


def test_midi_without_notes_is_a_skip(tmp_path):
    score = symusic.Score(480)
    score.tracks.append(symusic.Track(program=0, is_drum=False, name="empty"))
    score.tempos.append(symusic.Tempo(0, 120.0))
    path = tmp_path / "silent.mid"
    score.dump_midi(str(path))
    result = load_pieces(local_file(path))
    assert result.pieces == []
    assert [(s.source, s.reason) for s in result.skipped] == [(str(path), "no notes")]


# --- corrupt files --------------------------------------------------------------------------------


def _assert_bad(path: Path) -> None:
    with pytest.raises(BadInputError) as err:
        load_pieces(local_file(path))
    message = str(err.value)
    assert message.startswith(str(path) + ": ")
    assert "\n" not in message and "Traceback" not in message


def test_corrupt_files_raise_bad_input(tmp_path):
    rand = tmp_path / "random.mid"
    rand.write_bytes(os.urandom(3000))
    data = c_major_score().dumps_midi()
    truncated = tmp_path / "truncated.mid"
    truncated.write_bytes(data[: len(data) // 2])
    empty_xml = tmp_path / "empty.xml"
    empty_xml.write_text("")
    garbage_abc = tmp_path / "garbage.abc"
    garbage_abc.write_bytes(os.urandom(2000))
    words_abc = tmp_path / "words.abc"
    words_abc.write_text("this is not abc at all\njust words ]]] [[[ |||\n")
    bad_mxl = tmp_path / "bad.mxl"
    bad_mxl.write_bytes(os.urandom(500))
    bad_krn = tmp_path / "bad.krn"
    bad_krn.write_text("not kern at all\n")
    for path in (rand, truncated, empty_xml, garbage_abc, words_abc, bad_mxl, bad_krn):
        _assert_bad(path)


def test_missing_file_raises_bad_input(tmp_path):
    _assert_bad(tmp_path / "gone.mid")
    _assert_bad(tmp_path / "gone.xml")


def test_midi_structure_check():
    data = c_major_score().dumps_midi()
    assert midi_structure_problem(data) is None
    assert "truncated" in midi_structure_problem(data[:-5])
    assert "MThd" in midi_structure_problem(b"RIFF" + data)
