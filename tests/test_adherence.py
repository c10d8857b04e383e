"""The independent analyzers, on real music."""

import symusic

from conftest import corpus_score
from tunesmith.adherence import (adherence_report, all_pass, bar_numbers, bar_start_tick, failures, instruments_hold,
                                 key_match, longest_silence, longest_stuck_run, measure_bars, measure_key,
                                 measure_meters, measure_programs, out_of_key_share, outer_lines, relative_key,
                                 voices_heard)
from tunesmith.tokenizer import Controls


def test_measures_a_real_chorale(chorale):
    # bwv66.6 is in F# minor, 4/4; music21's Krumhansl-Schmuckler agrees
    assert measure_key(chorale) == "F# minor"
    assert measure_meters(chorale) == ["4/4"]
    assert measure_bars(chorale) == 9  # from its first note (the pickup) to its last, on a 4/4 grid
    assert len(measure_programs(chorale)) >= 1


def test_out_of_key_share_counts_a_real_chorales_accidentals(chorale):
    in_key = out_of_key_share(chorale, "F# minor")  # its own key: a few chromatic passing notes
    assert 0 < in_key < 0.1
    assert out_of_key_share(chorale, "C major") > 0.4  # a tritone away, most of its notes are foreign
    assert out_of_key_share(chorale, "A major") > in_key  # the relative major lacks the leading tone E#


def test_key_match_and_relatives():
    assert key_match("D minor", "D minor") == "exact"
    assert key_match("d minor", "F major") == "relative" and relative_key("F major") == "D minor"
    assert key_match("D minor", "A minor") == "wrong" and key_match("D minor", None) == "wrong"


def test_report_passes_and_fails_honestly(chorale):
    ok = adherence_report(chorale, Controls(key="F# minor", meter="4/4"), bars=9, mood="sad")
    assert ok["key"]["pass"] and ok["meter"]["pass"] and ok["bars"]["pass"] and ok["valid_midi"]["pass"]
    bad = adherence_report(chorale, Controls(key="C major", meter="3/4", tempo=200, instruments=(73,)), bars=16)
    assert set(failures(bad)) == {"key", "meter", "tempo", "instruments", "bars"} and not all_pass(bad)
    assert bad["key"]["analyzer"].startswith("music21")


def test_instruments_hold_only_when_every_asked_instrument_plays(chorale):
    """A single line given to the trumpet of a brass quartet is not the quartet asked for."""
    assert instruments_hold((56, 57, 58, 60), [56, 57, 58, 60])
    assert not instruments_hold((56, 57, 58, 60), [56]) and not instruments_hold((40,), [40, 0])
    assert not instruments_hold((0,), [])
    played = measure_programs(chorale)
    report = adherence_report(chorale, Controls(instruments=tuple(played) + (40,)))
    assert report["instruments"]["measured"] == played and not report["instruments"]["pass"]


def test_bars_follow_time_signature_changes():
    s = symusic.Score(480)
    s.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    s.time_signatures.append(symusic.TimeSignature(480 * 6, 6, 8))  # after 2 bars of 3/4
    t = symusic.Track(program=0)
    t.notes.append(symusic.Note(0, 480, 60, 80))
    t.notes.append(symusic.Note(480 * 6 + 480 * 3 * 2, 480 * 4, 62, 80))  # bar 5 (held past its end)
    s.tracks.append(t)
    assert measure_bars(s) == 5



def _with_a_loop(score: symusic.Score, bars: int, pitches=(74, 73)) -> symusic.Score:
    """`score` with `bars` bars of sixteenths on `pitches` appended (a sampler's loop), in its meter."""
    out = score.copy()
    tpq, start = out.ticks_per_quarter, measure_bars(out) * 4 * out.ticks_per_quarter  # 4/4
    track = out.tracks[0]
    for k in range(bars * 16):
        track.notes.append(symusic.Note(start + k * tpq // 4, tpq // 4, pitches[k % len(pitches)], 80))
    return out


def test_a_loop_on_two_pitches_is_stuck_and_real_music_is_not(chorale):
    assert longest_stuck_run(chorale) == 0 and adherence_report(chorale, Controls())["stuck"]["pass"]
    hammered = _with_a_loop(chorale, 6, pitches=(77,))  # one note hammered for six bars
    assert longest_stuck_run(hammered) == 6
    trilled = _with_a_loop(chorale, 4)
    assert longest_stuck_run(trilled) == 4 and not adherence_report(trilled, Controls())["stuck"]["pass"]
    assert longest_stuck_run(_with_a_loop(chorale, 3)) == 3  # three bars: a figure, not yet a loop
    assert adherence_report(_with_a_loop(chorale, 3), Controls())["stuck"]["pass"]
    # a stray note in the loop does not hide it: the two pitches still make most of its notes
    stray = _with_a_loop(chorale, 6)
    stray.tracks[0].notes.append(symusic.Note(stray.tracks[0].notes[-20].time, 120, 78, 80))
    assert longest_stuck_run(stray) == 6
    # the bars a MIDI prompt brought are the user's, not the sampler's
    assert longest_stuck_run(hammered, from_bar=measure_bars(chorale) + 3) == 3


def test_held_notes_and_a_real_melody_are_not_stuck(chorale):
    held = chorale.copy()
    tpq, start = held.ticks_per_quarter, measure_bars(held) * 4 * held.ticks_per_quarter
    for k in range(6):  # six bars of one held note: fewer notes a bar than a loop has
        held.tracks[0].notes.append(symusic.Note(start + k * 4 * tpq, 4 * tpq, 66, 80))
    assert longest_stuck_run(held) == 0
    # Schoenberg's op. 19/2 hammers one third throughout, Mozart's K. 545 has its Alberti bass: music, not loops
    for name in ("schoenberg/opus19/movement2", "mozart/k545/movement1"):
        assert longest_stuck_run(corpus_score(name)) < 4, name


def test_voices_heard_in_real_polyphony(chorale):
    """A chorale's four voices sound together throughout; Palestrina's five enter and rest in turn; one voice is one."""
    assert voices_heard(chorale) == {4: 1.0}
    soprano = chorale.copy()
    soprano.tracks = soprano.tracks[:1]
    assert voices_heard(soprano) == {1: 1.0}
    assert outer_lines(chorale) == (69.0, 53.0) and outer_lines(soprano) == (69.0, 69.0)  # A4 over F3; the soprano
    agnus = voices_heard(corpus_score("palestrina/Agnus_01.krn"))  # five parts
    assert max(agnus) == 5 and 0.2 < agnus[5] < 0.5 and abs(sum(agnus.values()) - 1) < 1e-9
    assert adherence_report(chorale, Controls(), voices=4)["voices"]["pass"]
    for asked in (3, 5):  # a fifth voice never sounds; three is exceeded throughout
        row = adherence_report(chorale, Controls(), voices=asked)["voices"]
        assert not row["pass"] and row["measured"] == {"most": 4, "share": 0.0}
    kyrie = corpus_score("palestrina/Kyrie_00.krn")  # four parts, all four sounding 43% of the time
    assert adherence_report(kyrie, Controls(), voices=4)["voices"]["pass"]


def test_voices_after_a_prompt_count_only_the_new_bars(chorale):
    start = bar_start_tick(chorale, 3)
    assert list(bar_numbers(chorale, [start - 1, start])) == [2, 3] and bar_start_tick(chorale, 0) == 0
    thick = chorale.copy()  # a fifth voice in the first two bars only (the "prompt")
    thick.tracks.append(symusic.Track(program=52))
    thick.tracks[-1].notes.append(symusic.Note(0, bar_start_tick(chorale, 2), 40, 80))
    assert max(voices_heard(thick)) == 5 and voices_heard(thick, bar_start_tick(chorale, 2)) == {4: 1.0}
    assert adherence_report(thick, Controls(), voices=4, prompt_bars=2)["voices"]["pass"]
    assert not adherence_report(thick, Controls(), voices=4)["voices"]["pass"]


def _as_quartet(chorale):
    """bwv66.6's voices given to violin, violin II (a second violin track), viola and cello."""
    quartet = chorale.copy()
    for track, program in zip(quartet.tracks, (40, 40, 41, 42)):
        track.program = program
    return quartet


def test_parts_of_a_real_chorale_played_as_a_quartet_all_play(chorale):
    """The chorale's four voices never rest a bar; a cello silenced after bar 3 rests the other 6 of 9 bars, and
    the report's `parts` check fails it (a part resting half the piece in a row), naming how long; drums asked
    are no part; after a prompt, only the new bars count."""
    quartet = _as_quartet(chorale)
    assert longest_silence(quartet) == {40: 0, 41: 0, 42: 0}
    asked = Controls(instruments=(40, 41, 42, -1))
    row = adherence_report(quartet, asked)["parts"]
    assert row["pass"] and row["requested"] == [40, 41, 42] and row["limit"] == 4
    cut = bar_start_tick(quartet, 3)
    early = quartet.copy()
    early.tracks[3].notes = early.tracks[3].notes.filter(lambda n: n.time + n.duration <= cut)
    assert longest_silence(early) == {40: 0, 41: 0, 42: 6}
    row = adherence_report(early, asked)["parts"]
    assert not row["pass"] and row["measured"][42] == 6 and "parts" in failures(adherence_report(early, asked))
    assert longest_silence(early, 0, 3)[42] == 0  # the first three bars alone: the cello plays in all of them
    assert "parts" not in adherence_report(quartet, Controls(instruments=(40,)))  # one instrument: no ensemble
