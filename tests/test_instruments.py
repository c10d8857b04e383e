"""Instrument names <-> GM programs, and voicing a style for an instrument it never had in training."""

import pytest
import symusic

from tunesmith.errors import TunesmithError
from conftest import corpus_score
from tunesmith.adherence import longest_silence, voices_heard
from tunesmith.instruments import (DRUMS, SOLO_VOICE, doubling_parts, doubling_roles, following_roles,
                                   keep_outer_voices, most_played, native_voicing, parse_instruments,
                                   pieces_per_program, playable, playable_voices, polyphony, program_name, rank_parts,
                                   register, unlearned, voice_by_register)
from tunesmith.tokenizer import Controls

PLAYED = {"collection": {"oneills1850": {"0": 1736}, "bach": {"52": 338, "0,52": 31, "19,24,42,47,52,68": 1},
                         "quartets": {"40,41,42": 16}},
          "composer": {"beethoven": {"0": 25, "40,41,42": 16}},
          "genre": {"chorale": {"52": 338, "0,52": 31}}}


def test_names_and_programs():
    assert parse_instruments("piano, fiddle, drums") == (DRUMS, 0, 110)  # sorted
    assert program_name(110).lower() == "fiddle"
    with pytest.raises(TunesmithError):
        parse_instruments("theremin")


@pytest.mark.parametrize("controls, written", [
    (Controls(collection="oneills1850", instruments=(110,)), (0,)),  # Irish tunes were melodies read as piano
    (Controls(collection="bach", instruments=(19,)), (52,)),  # a chorale for organ: written for the choir
    (Controls(collection="bach", instruments=(0,)), None),  # piano did occur with the chorales
    (Controls(collection="oneills1850", instruments=(0,)), None),  # the style's own instrument
    (Controls(collection="quartets", instruments=(0,)), None),  # the usual is an ensemble: no one part to take
    (Controls(composer="beethoven", collection="oneills1850", instruments=(40,)), None),  # the composer decides
    (Controls(collection="oneills1850", instruments=(110, 0)), None),  # one of them is the style's own: as asked
    (Controls(collection="oneills1850", instruments=(40, 42)), (0,)),  # none is: written as piano, shared out
    (Controls(collection="bach", instruments=(40, 41, 42)), (52,)),  # one odd piece with a cello does not count
    (Controls(genre="chorale", instruments=(40, 41, 42)), (52,)),  # the genre, when no collection is named
    (Controls(collection="oneills1850", instruments=(DRUMS,)), None),
    (Controls(collection="unknown", instruments=(110,)), None),
    (Controls(instruments=(110,)), None),
])
def test_native_voicing(controls, written):
    assert native_voicing(controls, PLAYED) == written
    assert native_voicing(controls, {}) is None  # a model saved without the table: always as asked


def test_voice_by_register_shares_a_real_chorale_among_strings():
    """bwv66.6's four voices for violin, viola and cello: the soprano on the violin, the bass on the cello,
    every note kept at its pitch (once: a unison of two voices on one instrument is one note), the meter and
    tempo untouched."""
    chorale = corpus_score("bach/bwv66.6")
    voiced = voice_by_register(chorale, (42, 40, 41))
    assert [t.program for t in voiced.tracks] == [40, 41, 42]  # high to low, whatever order they were asked in
    assert [t.name for t in voiced.tracks] == ["Violin", "Viola", "Cello"]  # what a DAW shows on each track
    assert {n for t in voiced.tracks for n in _notes(t)} == {n for t in chorale.tracks for n in _notes(t)}
    assert chorale.note_num() - 1 == voiced.note_num() and len(voiced.time_signatures) == len(chorale.time_signatures)
    part = {}
    for track in voiced.tracks:
        for n in track.notes:
            part.setdefault((n.time, n.pitch), set()).add(track.program)
    by_voice = {t.name: [part[(n.time, n.pitch)] for n in t.notes] for t in chorale.tracks}
    assert all(40 in where for where in by_voice["Soprano"])
    assert all(42 in where for where in by_voice["Bass"])
    assert sum(41 in where for where in by_voice["Tenor"]) >= 0.9 * len(by_voice["Tenor"])
    with_drums = chorale.copy()
    drums = with_drums.tracks[3].copy()
    drums.is_drum, drums.name = True, "Drums"
    with_drums.tracks.append(drums)
    one = voice_by_register(with_drums, (110,))
    assert sorted((t.is_drum, t.program) for t in one.tracks) == [(False, 110), (True, 0)]
    kept = [t for t in one.tracks if t.is_drum]
    assert _notes(kept[0]) == _notes(drums)  # the drum track is kept, not shared out
    fiddle = [n.pitch for t in one.tracks if not t.is_drum for n in t.notes]
    assert min(fiddle) >= 55  # the bass moved up by octaves into the fiddle's range (G3 up)


def _notes(track):
    return [(n.time, n.pitch) for n in track.notes]


def test_keep_outer_voices_of_a_real_chorale():
    """bwv66.6 for two voices is its soprano and bass, note for note; for one voice its soprano; for three, the
    soprano, the alto (but for one crossing) and the bass; asked for its own four, it is unchanged."""
    chorale = corpus_score("bach/bwv66.6")
    parts = {t.name: t for t in chorale.tracks}
    two = {t.name: t for t in keep_outer_voices(chorale, 2).tracks}
    assert _notes(two["Soprano"]) == _notes(parts["Soprano"]) and _notes(two["Bass"]) == _notes(parts["Bass"])
    assert two["Alto"].note_num() == two["Tenor"].note_num() == 0 and voices_heard(keep_outer_voices(chorale, 2)) == {2: 1.0}
    one = {t.name: t for t in keep_outer_voices(chorale, 1).tracks}
    assert _notes(one["Soprano"]) == _notes(parts["Soprano"]) and one["Bass"].note_num() == 0
    three = keep_outer_voices(chorale, 3)
    assert voices_heard(three) == {3: 1.0} and {t.name: t.note_num() for t in three.tracks}["Tenor"] <= 2
    assert keep_outer_voices(chorale, 4).note_num() == chorale.note_num()
    assert len(three.time_signatures) == len(chorale.time_signatures) and len(three.tempos) == len(chorale.tempos)


def test_keep_outer_voices_never_sounds_more_than_asked_in_polyphony():
    """Palestrina's five parts enter and rest in turn: a held note that an entry leaves inside the texture stops
    there, so two or three voices are never exceeded, and the lowest and highest part keep most of their notes."""
    agnus = corpus_score("palestrina/Agnus_01.krn")
    for voices in (2, 3):
        thin = keep_outer_voices(agnus, voices)
        heard = voices_heard(thin)
        assert max(heard) == voices and heard[voices] > 0.8
        kept = [t.note_num() for t in thin.tracks]
        assert kept[0] >= 0.9 * agnus.tracks[0].note_num() and kept[-1] >= 0.8 * agnus.tracks[-1].note_num()


def test_voice_by_register_doubles_a_thin_texture_so_no_part_is_idle():
    """bwv66.6's soprano and bass for a brass quartet: two instruments a voice, not the melody alone against a
    tripled bass: the trumpet and the horn play the soprano, the trombone the bass and the tuba doubles it an
    octave down; each part within its instrument's range, and no part rests while the others
    play. With double=False (N voices asked) each note is played once."""
    outer = keep_outer_voices(corpus_score("bach/bwv66.6"), 2)
    parts = {t.name: _notes(t) for t in outer.tracks if t.note_num()}
    voiced = {t.program: t for t in voice_by_register(outer, (56, 57, 58, 60)).tracks}
    assert [p for p in voiced] == [56, 60, 57, 58]  # trumpet, horn, trombone, tuba: high to low
    assert _notes(voiced[56]) == _notes(voiced[60]) == parts["Soprano"] and _notes(voiced[57]) == parts["Bass"]
    for program, track in voiced.items():
        low, high = playable(program)
        assert all(low <= n.pitch <= high for n in track.notes), program_name(program)
    tuba = [(t, b - p) for (t, b), (_, p) in zip(parts["Bass"], _notes(voiced[58]))]
    assert [t for t, _ in tuba] == [t for t, _ in parts["Bass"]] and {d for _, d in tuba} <= {12, 24}
    assert sum(d == 12 for _, d in tuba) > 0.9 * len(tuba)  # the line an octave down, lower only below the range
    brass = voice_by_register(outer, (56, 57, 58, 60))
    assert set(longest_silence(brass).values()) == {0}
    assert len(doubling_parts(brass)) == 2  # one of each pair owns its line
    assert doubling_parts(outer) == doubling_parts(corpus_score("bach/bwv66.6")) == []  # real voices: their own
    once = voice_by_register(outer, (56, 57, 58, 60), double=False)
    assert once.note_num() == outer.note_num() and voices_heard(once) == {2: 1.0}


def test_the_timpani_strikes_the_bass_on_the_tonic_and_the_dominant():
    """bwv66.6 (F# minor) for strings and timpani: the strings share the four voices, and the timpani has no
    line of its own: it strikes the bass where the bass is on F# or C#, within its range. Alone, it plays all."""
    chorale = corpus_score("bach/bwv66.6")
    bass = _notes({t.name: t for t in chorale.tracks}["Bass"])
    voiced = {t.program: t for t in voice_by_register(chorale, (40, 41, 42, 47)).tracks}
    timpani = _notes(voiced[47])
    on = [(t, p) for t, p in bass if p % 12 in (6, 1)]  # F#, C#
    assert 0 < len(timpani) == len(on) < 0.5 * len(bass)
    assert [t for t, _ in timpani] == [t for t, _ in on]
    assert all((p - q) % 12 == 0 for (_, p), (_, q) in zip(timpani, on))
    assert all(38 <= p <= 57 for _, p in timpani)
    strings = voice_by_register(chorale, (40, 41, 42)).tracks  # the strings play as they would without it
    assert [_notes(t) for t in strings] == [_notes(voiced[p]) for p in (40, 41, 42)]
    assert voice_by_register(chorale, (47,)).note_num() > len(bass)


@pytest.mark.parametrize("voices, programs, roles", [
    # four voices for an orchestra: the low instruments on the bass, the contrabass an octave below the cello
    ([71, 66, 60, 52], (40, 41, 42, 43, 56, 60, 68, 70, 71, 73),
     [[(68, 0), (40, 0), (73, 0)], [(71, 0), (56, 0)], [(41, 0), (60, 0)], [(42, 0), (70, 0), (43, -1)]]),
    # a melody for brass: the trumpet at pitch, the others in octaves below
    ([70], (56, 57, 58, 60), [[(56, 0), (60, -1), (57, -1), (58, -2)]]),
    # a melody and its bass for brass: two on each, not the trumpet alone against three on the bass
    ([71, 50], (56, 57, 58, 60), [[(56, 0), (60, -1)], [(57, 0), (58, 0)]]),
    # and for strings: the viola with the violin (3 semitones nearer the melody than the bass)
    ([71, 50], (40, 41, 42), [[(40, 0), (41, 0)], [(42, 0)]]),
])
def test_doubling_roles_follow_each_instruments_register(voices, programs, roles):
    order = sorted(programs, key=register, reverse=True)
    got = doubling_roles(voices, [register(p) for p in order])
    assert [[(order[k], octaves) for k, octaves in players] for players in got] == roles


def test_following_roles_keep_each_instrument_to_its_line_where_the_texture_thins():
    """An orchestra's four-voice shares where only soprano and bass sound: the soprano and alto players on the top
    line, the tenor and bass players on the bass (the tenor, 60, is a semitone nearer 50 than 71), octaves kept;
    where more voices sound than the shares cover, None (the voicing shares them out afresh)."""
    order = sorted((40, 41, 42, 43, 56, 60, 68, 70, 71, 73), key=register, reverse=True)
    four = doubling_roles([71, 66, 60, 52], [register(p) for p in order])
    two = following_roles(four, [71, 66, 60, 52], [71, 50])
    assert [sorted(order[k] for k, _ in players) for players in two] == [[40, 56, 68, 71, 73], [41, 42, 43, 60, 70]]
    assert (order.index(43), -1) in two[1]  # the contrabass still an octave down
    assert following_roles(four, [71, 66, 60, 52], [74, 70, 66, 60, 52]) is None


def test_instruments_the_model_seldom_saw_and_what_their_players_can_sound():
    played = {"collection": {"pianomidi": {"0": 261}, "bach": {"52": 338, "0,52": 31, "19,24,42,47,52,68": 1},
                             "quartets": {"40,41,42": 16, "0,40,41,42": 12}}}
    assert pieces_per_program(played)[0] == 261 + 31 + 12 and pieces_per_program(played)[19] == 1
    assert unlearned((19, 0, 40, 73, DRUMS), played) == (19, 73)  # organ in 1 piece, flute in none; drums apart
    assert unlearned((19,), {}) == () and most_played(played) == 52 and most_played({}) == 0
    few = {"collection": {"mine": {"24": 15}}}  # a model trained on 15 guitar pieces writes for the guitar
    assert unlearned((24,), few) == () and unlearned((24, 73), few) == (73,)
    assert [polyphony(p) for p in (73, 56, 40, 24, 0, 46, 52)] == [1, 1, 2, 6, None, None, None]
    assert playable_voices((56, 57, 58, 60)) == 4 and playable_voices((73, 40)) == 3
    assert playable_voices((0, 73)) is None and playable_voices((DRUMS,)) is None


@pytest.mark.parametrize("m, caps, parts", [
    (4, [1, None], [0, 1, 1, 1]),  # flute and piano: the top note on the flute, the chord on the piano
    (4, [2, 2, 2], [0, 0, 1, 2]),  # violin, viola, cello on four voices: the violin takes two (a double stop)
    (6, [None, 1], [0, 0, 0, 0, 0, 1]),  # piano and bass guitar: the bass line alone below
    (3, [1, 1, None], [0, 1, 2]),
])
def test_rank_parts_give_no_player_more_notes_than_it_can_sound(m, caps, parts):
    assert rank_parts(m, caps) == parts


@pytest.mark.parametrize("melody", [73, SOLO_VOICE])  # "for flute and piano", "for soprano and piano"
def test_voice_by_register_gives_a_flute_or_a_singer_the_soprano_and_the_piano_the_rest(melody):
    chorale = corpus_score("bach/bwv66.6")
    voiced = {t.program: t for t in voice_by_register(chorale, (0, melody)).tracks}
    assert max(voices_heard(_score_of(chorale, voiced[melody]))) == 1  # one note at a time
    soprano = set(_notes({t.name: t for t in chorale.tracks}["Soprano"]))
    assert len(soprano & set(_notes(voiced[melody]))) >= 0.9 * len(soprano)


def _score_of(like, track):
    score = like.copy()
    score.tracks = symusic.core.TrackTickList()
    score.tracks.append(track)
    return score
