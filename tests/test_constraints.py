"""Constrained decoding: the grammar always holds and every enforced control holds, over many seeds,
even for an untrained model."""

import pytest

from tunesmith.constraints import Constraints, RemiGrammar, bar_positions
from tunesmith.generate import GenerationOptions
from tunesmith.tokenizer import Controls

CASES = [
    Controls(meter="3/4", tempo=72, instruments=(0,)),
    Controls(meter="6/8", tempo=132, instruments=(40, 42)),
    Controls(meter="4/4", tempo=100, instruments=(0, -1)),  # piano and drums
    Controls(meter="2/2", instruments=(52,)),
]


def replay_is_grammatical(model, seq, n_controls, constraints):
    """Every generated token was allowed by the grammar given what came before it."""
    g = RemiGrammar(model.tokenizer, constraints, music_start=n_controls)
    return all(bool(g.allowed(seq[:i])[seq[i]]) for i in range(n_controls, len(seq)))


@pytest.mark.parametrize("controls", CASES, ids=lambda c: f"{c.meter}-{c.tempo}-{c.instruments}")
def test_enforced_controls_hold_over_seeds(random_model, controls):
    tok = random_model.tokenizer
    for seed in range(4):
        opts = GenerationOptions(controls=controls, bars=4, seed=seed, temperature=1.3, top_p=1.0)
        [gen] = random_model.generate(opts)
        assert all(v["pass"] for v in gen.report.values()), gen.report
        score = gen.score
        # independent of the report: read the MIDI itself
        assert {(t.numerator, t.denominator) for t in score.time_signatures} == {tuple(map(int, controls.meter.split("/")))}
        if controls.tempo:
            assert all(abs(t.qpm - controls.tempo) < 0.5 for t in score.tempos)
        programs = {-1 if t.is_drum else t.program for t in score.tracks if t.note_num()}
        assert programs <= set(controls.instruments)
        bars = sum(1 for i in tok.music_part(gen.ids) if i == tok.bar_id)
        assert bars == 4
        # every note starts inside its bar: positions never run past the bar's length
        tpq = score.ticks_per_quarter
        num, den = map(int, controls.meter.split("/"))
        bar_ticks = tpq * 4 * num // den
        for track in score.tracks:
            for note in track.notes:
                assert note.time < 4 * bar_ticks
        # the last bar opens on its first beat (no pile of notes put off to the piece's final position)
        last_bar = [n.time for t in score.tracks for n in t.notes if n.time >= 3 * bar_ticks]
        assert last_bar and min(last_bar) < 3 * bar_ticks + tpq * 4 // den
        n_controls = len(tok.control_ids(controls))
        assert replay_is_grammatical(random_model, gen.ids, n_controls,
                                     Constraints(controls.meter, controls.tempo, controls.instruments, 4))


def test_greedy_and_beam_search_obey_grammar(random_model):
    for opts in (GenerationOptions(controls=Controls(meter="3/4"), bars=3, greedy=True),
                 GenerationOptions(controls=Controls(meter="3/4"), bars=3, num_beams=3)):
        [gen] = random_model.generate(opts)
        assert gen.report["meter"]["pass"] and gen.report["bars"]["pass"]
        assert gen.score.note_num() > 0


def test_bar_positions():
    assert bar_positions("4/4") == 32 and bar_positions("6/8") == 48 and bar_positions("2/2") == 16


def test_whole_sequences_stay_grammatical_across_sliding_windows(random_model):
    """Pieces longer than the context slide the window; the grammar must hold across every cut,
    including one inside a long bar (a random model writes bars of hundreds of tokens)."""
    from tunesmith.adherence import measure_bars
    from tunesmith.constraints import Constraints, RemiGrammar

    tok = random_model.tokenizer
    for opts in (GenerationOptions(controls=Controls(meter="3/4"), bars=3, num_beams=3),
                 GenerationOptions(controls=Controls(meter="6/8"), bars=4, seed=5)):
        [gen] = random_model.generate(opts)
        assert len(gen.ids) > random_model.config.max_len  # the window did slide
        n = len(tok.control_ids(opts.controls))
        grammar = RemiGrammar(tok, Constraints(opts.controls.meter, None, None, opts.bars), music_start=n)
        assert grammar.first_violation(gen.ids[:n], gen.ids[n:]) is None
        assert measure_bars(gen.score) == opts.bars


def test_one_four_is_never_chosen_unasked_but_can_be_asked(random_model):
    """POP909 marks beats as 1/4 bars; a model trained on it would write "16 bars" of single beats."""
    tok = random_model.tokenizer
    one_four = [i for i in tok.ids_of_type("TimeSig") if tok.value_of(i) == "1/4"]
    assert one_four
    free = RemiGrammar(tok, Constraints(), music_start=1)
    asked = RemiGrammar(tok, Constraints(meter="1/4"), music_start=1)
    after_bar = [tok.bos_id, tok.bar_id]
    assert not free.allowed(after_bar)[one_four].any() and free.allowed(after_bar).sum() > 1
    assert asked.allowed(after_bar)[one_four].all()


def _onsets(score, programs=range(8)):
    chords = {}
    for t in score.tracks:
        if not t.is_drum and t.program in programs:
            for n in t.notes:
                chords.setdefault((t.program, n.time), []).append(n.pitch)
    return list(chords.values())


def test_a_piano_strikes_only_what_two_hands_can_play(random_model):
    """On a keyboard the grammar keeps each onset within two hands of five fingers reaching a tenth: with C2
    and C4 struck, C6 would need a third hand; a violin is not held to it, and hand_span=None lifts it.
    An untrained model's pieces for piano and violin hold it at every onset."""
    from tunesmith.ops import fits_two_hands

    tok = random_model.tokenizer

    def token(kind, value):
        return next(i for i in tok.ids_of_type(kind) if tok.value_of(i) == str(value))

    def note(program, pitch):
        return [token("Program", program), token("Pitch", pitch), tok.ids_of_type("Velocity")[8],
                tok.ids_of_type("Duration")[7]]

    head = [tok.bos_id, tok.bar_id, token("TimeSig", "4/4"), token("Position", 0)]
    chord = head + note(0, 36) + note(0, 60)
    piano, free = RemiGrammar(tok, Constraints(), music_start=1), RemiGrammar(tok, Constraints(hand_span=None), 1)
    allowed = piano.allowed(chord + [token("Program", 0)])
    assert allowed[token("Pitch", 64)] and allowed[token("Pitch", 48)] and not allowed[token("Pitch", 84)]
    assert piano.allowed(chord + [token("Program", 40)])[token("Pitch", 84)]  # the violin's own note
    assert free.allowed(chord + [token("Program", 0)])[token("Pitch", 84)]
    ten = head + [t for p in (36, 38, 40, 41, 43, 60, 62, 64, 65, 67) for t in note(0, p)]  # ten fingers down
    after = piano.allowed(ten)
    assert not after[token("Program", 0)] and after[token("Program", 40)] and free.allowed(ten)[token("Program", 0)]

    controls = Controls(meter="4/4", tempo=100, instruments=(0, 40))
    for seed in range(3):
        opts = GenerationOptions(controls=controls, bars=4, seed=seed, temperature=1.3, top_p=1.0)
        chords = _onsets(random_model.generate(opts)[0].score)
        assert chords and all(fits_two_hands(c) for c in chords)


def test_no_more_notes_sound_together_than_the_voices_asked(random_model):
    """With two voices asked and two whole notes struck on beat 1 of a 4/4 bar, a third note is refused there
    and on every position they still sound, allowed from the next bar; a held note reaches across the
    bar line. Without the ask, nothing changes. An untrained model's pieces never exceed the number."""
    from tunesmith.adherence import voices_heard

    tok = random_model.tokenizer

    def token(kind, value):
        return next(i for i in tok.ids_of_type(kind) if tok.value_of(i) == str(value))

    def note(pitch, duration):
        return [token("Program", 52), token("Pitch", pitch), tok.ids_of_type("Velocity")[8], token("Duration", duration)]

    bar = [tok.bar_id, token("TimeSig", "4/4")]
    two = RemiGrammar(tok, Constraints(voices=2), music_start=1)
    free = RemiGrammar(tok, Constraints(), music_start=1)
    whole = [tok.bos_id] + bar + [token("Position", 0)] + note(60, "4.0.4") + note(67, "4.0.4")
    after = two.allowed(whole)
    assert not after[token("Program", 52)] and free.allowed(whole)[token("Program", 52)]
    assert not any(after[token("Position", p)] for p in range(1, 32)) and after[tok.bar_id]
    assert two.allowed(whole + bar)[token("Position", 0)]  # both have ended at the bar line
    one_held = [tok.bos_id] + bar + [token("Position", 0)] + note(60, "8.0.4") + note(67, "2.0.8")
    assert two.allowed(one_held)[token("Position", 16)]  # the G has ended at beat 3: one voice is free
    # the C held over the bar line and an E from beat 3 to the next bar's beat 3: its first half is full
    over = two.allowed(one_held + [token("Position", 16)] + note(64, "4.0.4") + bar)
    assert not over[token("Position", 0)] and not over[token("Position", 8)] and over[token("Position", 16)]

    controls = Controls(meter="3/4", tempo=90, instruments=(52, 0))
    for seed in range(3):
        opts = GenerationOptions(controls=controls, bars=4, seed=seed, temperature=1.3, top_p=1.0, voices=2)
        gen = random_model.generate(opts)[0]
        heard = voices_heard(gen.score)
        assert heard and max(heard) <= 2 and gen.report["voices"]["measured"]["most"] == max(heard)


def test_a_sung_part_stays_in_a_choirs_range(random_model):
    """Choir parts keep to C2-C6, the span of the training data's 1,657 sung pieces; a piano does not, and
    sung_range=None lifts it. An untrained model's choir pieces hold it at every note."""
    tok = random_model.tokenizer

    def token(kind, value):
        return next(i for i in tok.ids_of_type(kind) if tok.value_of(i) == str(value))

    head = [tok.bos_id, tok.bar_id, token("TimeSig", "4/4"), token("Position", 0)]
    sung, free = RemiGrammar(tok, Constraints(), music_start=1), RemiGrammar(tok, Constraints(sung_range=None), 1)
    choir = sung.allowed(head + [token("Program", 52)])
    assert choir[token("Pitch", 36)] and choir[token("Pitch", 84)]
    assert not choir[token("Pitch", 35)] and not choir[token("Pitch", 90)]
    assert sung.allowed(head + [token("Program", 0)])[token("Pitch", 30)]
    assert free.allowed(head + [token("Program", 52)])[token("Pitch", 30)]

    for seed in range(3):
        opts = GenerationOptions(controls=Controls(meter="4/4", tempo=90, instruments=(52,)), bars=4, seed=seed,
                                 temperature=1.3, top_p=1.0)
        notes = [n.pitch for t in random_model.generate(opts)[0].score.tracks for n in t.notes]
        assert notes and all(36 <= p <= 84 for p in notes)
