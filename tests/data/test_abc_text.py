"""Tests for tunesmith.data.abc_text: the tunes of an ABC file, and whether they are the voices of one work."""

from __future__ import annotations

from pathlib import Path

import music21

from tunesmith.data.abc_text import same_work_voices, split_abc_tunes
from tunesmith.data.load import names_a_voice


def corpus_tunes(name: str):
    return split_abc_tunes(Path(music21.corpus.getWork(name)).read_text(encoding="latin-1"))[1]


def test_josquin_part_books_are_one_work_and_their_voice_names_are_read():
    tunes = corpus_tunes("josquin/milleRegrets")
    assert [t.titles for t in tunes] == [("Mille regrets", "Superius"), ("Mille regrets", "Contratenor"),
                                         ("Mille regrets", "Tenor"), ("Mille regrets", "Bassus")]
    assert same_work_voices(tunes, names_a_voice)
    # the voice's name written after the K: line, and a first voice with no name of its own
    prolatum = corpus_tunes("josquin/4vPerIlludAveProlatum")
    assert [t.titles[1] for t in prolatum] == ["Superius", "Altus"] and same_work_voices(prolatum, names_a_voice)
    assert same_work_voices(corpus_tunes("josquin/oVenusBant"), names_a_voice)


def test_variants_of_one_folk_song_and_collections_of_tunes_stay_tunes():
    ballad = corpus_tunes("essenFolksong/ballad80")  # 93 variants of "Graf und Nonne", in several meters
    assert len(ballad) == 93 and len({t.titles[0] for t in ballad}) == 1
    assert not same_work_voices(ballad, names_a_voice)
    assert not same_work_voices(corpus_tunes("airdsAirs/book5"), names_a_voice)
    assert not same_work_voices(corpus_tunes("josquin/milleRegrets")[:1], names_a_voice)  # one voice alone


def test_same_title_and_meter_without_a_voice_name_is_not_a_part_book():
    text = "X:1\nT:Air\nM:3/4\nK:G\nGAB|\nX:2\nT:Air\nT:second setting\nM:3/4\nK:G\nBAG|\n"
    assert not same_work_voices(split_abc_tunes(text)[1], names_a_voice)
    assert same_work_voices(split_abc_tunes(text.replace("second setting", "Bassus"))[1], names_a_voice)
