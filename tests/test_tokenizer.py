"""Tokenizer round trips over real corpus music, and the control tokens."""

import json

import numpy as np
import pytest

from conftest import corpus_score
from tunesmith.errors import TunesmithError
from tunesmith.tokenizer import Controls, ControlVocab, Tokenizer

# one piece per notation format and texture: chorale (MusicXML), folk tune (ABC), mass (kern), quartet (MusicXML)
PIECES = ["bach/bwv66.6", "essenFolksong/altdeu10", "palestrina/Agnus_01", "schumann_robert/opus41no1/movement2"]


def notes_of(score, res):
    """(onset, pitch, duration) on the tokenizer's grid, in quarter notes."""
    out = []
    for track in score.tracks:
        arr = track.notes.numpy()
        for t, d, p in zip(arr["time"], arr["duration"], arr["pitch"]):
            out.append((round(t / score.ticks_per_quarter * res), int(p)))
    return sorted(out)


@pytest.fixture(scope="module")
def tok():
    return Tokenizer()


@pytest.mark.parametrize("name", PIECES)
def test_round_trip_keeps_every_note(tok, name):
    score = corpus_score(name) if name != "essenFolksong/altdeu10" else _first_tune(name)
    ids = tok.encode_music(score)
    assert ids.dtype == np.uint16 and ids.max() < tok.music_vocab_size
    back = tok.decode([tok.bos_id] + ids.tolist() + [tok.eos_id])
    assert back.note_num() == score.note_num()
    # onsets survive on the 1/8-beat grid; pitches exactly
    assert notes_of(back, 8) == notes_of(score, 8)
    sig = score.time_signatures[0]
    assert (back.time_signatures[0].numerator, back.time_signatures[0].denominator) == (sig.numerator, sig.denominator)


def _first_tune(name):
    import symusic
    from music21 import corpus, midi

    opus = corpus.parse(name)
    return symusic.Score.from_midi(midi.translate.music21ObjectToMidiFile(opus.scores[0]).writestr())


def test_control_tokens_are_after_music_ids(tok):
    vocab = ControlVocab(collections=["bach"], composers=["bach"], genres=["chorale"])
    t = Tokenizer(vocab)
    ids = t.control_ids(Controls(collection="bach", composer="bach", genre="chorale", key="E- minor", meter="3/4",
                                 tempo=100, instruments=(52, 0)))
    assert t.tokens(ids) == ["BOS_None", "Collection_bach", "Composer_bach", "Genre_chorale", "Key_Eb_minor",
                             "Meter_3/4", "TempoBin_4", "Instr_0", "Instr_52"]
    assert all(t.is_control(i) for i in ids[1:])
    assert t.music_vocab_size == tok.music_vocab_size  # controls never move music ids


def test_unknown_label_is_skipped_or_named(tok):
    t = Tokenizer(ControlVocab(composers=["bach", "palestrina"]))
    assert t.tokens(t.control_ids(Controls(composer="chopin"))) == ["BOS_None"]
    with pytest.raises(TunesmithError, match="unknown composer 'chopin'.*bach, palestrina"):
        t.control_ids(Controls(composer="chopin"), strict=True)


def test_save_and_load(tmp_path, chorale):
    t = Tokenizer(ControlVocab(["bach"], ["bach"], ["chorale"]))
    t.save(tmp_path / "tok")
    back = Tokenizer.load(tmp_path / "tok")
    assert back.vocab == t.vocab
    assert back.encode_music(chorale).tolist() == t.encode_music(chorale).tolist()


def test_decode_rejects_empty(tok):
    with pytest.raises(TunesmithError, match="no music"):
        tok.decode([tok.bos_id, tok.eos_id])


def test_controls_from_metadata():
    c = Controls.from_meta({"collection": "bach", "key": "f# minor", "time_signatures": ["3/4", "4/4"],
                            "tempo": 72.0, "programs": [52, 0]})
    assert c.key == "F# minor" and c.meter == "3/4" and c.instruments == (0, 52)


def test_control_vocab_records_what_each_style_was_played_on():
    metas = [{"collection": "bach", "composer": "bach", "genre": "chorale", "programs": [52]}] * 5 + \
            [{"collection": "bach", "composer": "bach", "genre": "chorale", "programs": [0, 52]}] + \
            [{"collection": "rare", "composer": "bach", "programs": [40]}]
    vocab = ControlVocab.from_metadata(metas, min_count=5)
    assert vocab.collections == ["bach"] and vocab.composers == ["bach"] and vocab.genres == ["chorale"]
    assert vocab.instrumentation == {"collection": {"bach": {"52": 5, "0,52": 1}},
                                     "composer": {"bach": {"52": 5, "0,52": 1, "40": 1}},
                                     "genre": {"chorale": {"52": 5, "0,52": 1}}}
    assert Tokenizer(vocab).vocab_size == Tokenizer(ControlVocab(["bach"], ["bach"], ["chorale"])).vocab_size


def test_control_vocab_records_each_styles_meters_and_tempos(chorale_dataset, tmp_path):
    from tunesmith.data.dataset import Dataset

    metas = [p.meta for p in Dataset(chorale_dataset).pieces("train")]
    vocab = ControlVocab.from_metadata(metas)
    table = vocab.meter_tempo["collection"]["bach"]  # {"4/4 100": pieces, ...}: each piece's opening meter and tempo
    assert sum(table.values()) == sum(1 for m in metas if m.get("time_signatures") and m.get("tempo"))
    for meta in metas:
        if meta.get("time_signatures") and meta.get("tempo"):
            assert f"{meta['time_signatures'][0]} {round(meta['tempo'])}" in table
    on = vocab.meter_tempo_on["collection"]  # the same per instrumentation: {"bach|52": {"4/4 100": pieces}, ...}
    assert {k: sum(t.values()) for k, t in on.items()} == {
        f"bach|{','.join(map(str, sorted(p)))}": sum(1 for m in metas if m.get("time_signatures") and m.get("tempo")
                                                     and sorted(m["programs"]) == sorted(p))
        for p in {tuple(sorted(m["programs"])) for m in metas if m.get("time_signatures") and m.get("tempo")}}
    Tokenizer(vocab).save(tmp_path)  # the tables round-trip through controls.json with the rest of the vocabulary
    loaded = Tokenizer.load(tmp_path).controls
    assert (loaded.meter_tempo, loaded.meter_tempo_on) == (vocab.meter_tempo, vocab.meter_tempo_on)


def test_a_vocabulary_table_from_a_later_version_is_skipped_on_load(tmp_path):
    """A model folder written by a newer tunesmith, whose controls.json holds a table this one does not
    know, still loads: the known labels and tables are kept, the unknown one is left out."""
    vocab = ControlVocab(["bach"], ["bach"], ["chorale"], instrumentation={"collection": {"bach": {"52": 3}}})
    Tokenizer(vocab).save(tmp_path)
    raw = json.loads((tmp_path / "controls.json").read_text())
    (tmp_path / "controls.json").write_text(json.dumps({**raw, "collections_of": {"composer": {"bach": {"bach": 3}}}}))
    back = Tokenizer.load(tmp_path)
    assert back.controls == vocab and back.vocab_size == Tokenizer(vocab).vocab_size
