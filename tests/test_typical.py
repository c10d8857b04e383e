"""A meter or tempo not asked comes from one of the asked style's training pieces (typical.py), read from
the bundled model's tally of its real training pieces."""

import json

import pytest

import tunesmith
from tunesmith.tokenizer import Controls, Tokenizer
from tunesmith.typical import MIN_SHARE, typical_controls


@pytest.fixture(scope="module")
def vocab():
    return tunesmith.load(None).tokenizer.controls


@pytest.fixture(scope="module")
def meters(vocab):
    return Tokenizer(vocab).meters


def test_chopin_gets_the_meter_and_tempo_of_one_of_his_training_pieces(vocab, meters):
    table = vocab.meter_tempo["composer"]["chopin"]  # {"3/4 189": 1, ...} over Chopin's training pieces
    total = sum(table.values())
    share = {m: sum(n for k, n in table.items() if k.split()[0] == m) / total for m in {k.split()[0] for k in table}}
    drawn = []
    for seed in range(30):
        controls, why = typical_controls(Controls(collection="pianomidi", composer="chopin"), vocab, seed, meters)
        assert f"{controls.meter} {controls.tempo:g}" in table  # a real piece's pair, not a mix of two
        assert 40 <= controls.tempo <= 250  # Chopin's one piece at 35 BPM lies outside the tokenizer's tempos
        assert share[controls.meter] >= MIN_SHARE and "chopin training pieces" in why["meter"]
        drawn.append(controls.meter)
    assert {"4/4", "3/4"} <= set(drawn)  # varied across samples, mostly his usual meters
    assert "2/8" in share and "2/8" not in drawn  # his one 2/8 piece is too rare to draw


def test_asked_controls_stay_and_a_mood_keeps_the_tempo_open(vocab, meters):
    table = vocab.meter_tempo["composer"]["chopin"]
    controls, why = typical_controls(Controls(composer="chopin", meter="3/4"), vocab, 0, meters)
    assert controls.meter == "3/4" and f"3/4 {controls.tempo:g}" in table and set(why) == {"tempo", "instruments"}
    controls, why = typical_controls(Controls(composer="chopin", tempo=60.0, instruments=(0,)), vocab, 0, meters,
                                     tempo=False)
    assert controls.tempo == 60.0 and controls.instruments == (0,) and set(why) == {"meter"}
    controls, why = typical_controls(Controls(composer="chopin"), vocab, 0, meters, tempo=False)
    assert controls.tempo is None and controls.meter


def test_no_style_or_an_unknown_one_leaves_the_controls_alone(vocab, meters):
    for asked in (Controls(), Controls(key="D minor"), Controls(composer="nobody")):
        assert typical_controls(asked, vocab, 0, meters) == (asked, {})


def test_the_bundled_model_writes_chopin_in_a_meter_of_his_and_says_so(tmp_path):
    model = tunesmith.load(None)
    gen = model.generate(tunesmith.GenerationOptions(controls=Controls(collection="pianomidi", composer="chopin",
                                                                       instruments=(0,)), bars=2, seed=3))[0]
    row = gen.report["meter"]
    assert row["pass"] and "chosen" in row and row["measured"] == [row["requested"]]
    assert gen.report["tempo"]["pass"] and "chosen" in gen.report["tempo"]
    free = model.generate(tunesmith.GenerationOptions(controls=Controls(collection="pianomidi", composer="chopin"),
                                                      bars=2, seed=3, typical=False))[0]
    assert "meter" not in free.report and "tempo" not in free.report  # left to the model, as before
    prompt = tmp_path / "p.mid"
    gen.score.dump_midi(str(prompt))
    cont = model.generate(tunesmith.GenerationOptions(controls=Controls(composer="chopin"), prompt_midi=str(prompt),
                                                      prompt_bars=1, bars=2))[0]
    assert "meter" not in cont.report  # a MIDI prompt's meter is the user's, not drawn
    saved = json.loads(json.dumps(gen.report))  # the report (and its reasons) is plain JSON
    assert saved["meter"]["chosen"] == row["chosen"]


def test_a_genre_decides_the_meter_before_the_composer(vocab, meters):
    minuets = vocab.meter_tempo["genre"]["minuet"]  # the corpus's minuets: 3/4 (and one 3/8)
    for seed in range(10):
        controls, why = typical_controls(Controls(composer="mozart", genre="minuet"), vocab, seed, meters)
        assert f"{controls.meter} {controls.tempo:g}" in minuets and "minuet training pieces" in why["meter"]


def test_a_piano_piece_by_mozart_takes_the_tempo_of_one_of_his_piano_pieces(vocab, meters):
    piano = vocab.meter_tempo_on["composer"]["mozart|0"]  # his 16 piano pieces (piano-midi.de, the corpus)
    every = vocab.meter_tempo["composer"]["mozart"]  # all 29, string quartets included
    assert sum(piano.values()) == 16 and "4/4 40" in every and "4/4 40" not in piano  # a quartet's slow movement
    drawn = set()
    for seed in range(40):
        controls, why = typical_controls(Controls(composer="mozart", instruments=(0,)), vocab, seed, meters)
        assert f"{controls.meter} {controls.tempo:g}" in piano and "mozart solo piano training pieces" in why["meter"]
        drawn.add(f"{controls.meter} {controls.tempo:g}")
    assert len(drawn) >= 8
    # an instrumentation the style has too few pieces on falls back to all of the style's pieces
    controls, why = typical_controls(Controls(composer="mozart", instruments=(73,)), vocab, 0, meters)
    assert f"{controls.meter} {controls.tempo:g}" in every and "of 29 mozart training pieces" in why["meter"]


def test_neighbouring_samples_draw_independently(vocab, meters):
    # random.Random(3) and Random(4) open with 0.238 and 0.236: samples 3 and 4 used to draw the same piece
    for asked in (Controls(composer="chopin"), Controls(composer="mozart", instruments=(0,)),
                  Controls(composer="beethoven", instruments=(0,))):
        three, four = (typical_controls(asked, vocab, seed, meters)[0] for seed in (3, 4))
        assert (three.meter, three.tempo) != (four.meter, four.tempo)


def test_an_unasked_instrumentation_comes_with_the_piece_drawn(vocab, meters):
    """Josquin's 8 training pieces are sung: so is "a chanson in the style of Josquin". Beethoven's 45 are
    piano pieces and string quartets: each draw keeps a real piece's meter, tempo and instruments together."""
    controls, why = typical_controls(Controls(composer="josquin"), vocab, 0, meters)
    assert controls.instruments == (52,) and why["instruments"] == "choir in 8 of 8 josquin training pieces"
    drawn = set()
    for seed in range(30):
        controls, why = typical_controls(Controls(composer="beethoven"), vocab, seed, meters)
        programs = ",".join(map(str, controls.instruments))
        assert f"{controls.meter} {controls.tempo:g}" in vocab.meter_tempo_on["composer"][f"beethoven|{programs}"]
        drawn.add(controls.instruments)
    assert {(0,), (40, 41, 42)} <= drawn
    assert typical_controls(Controls(composer="josquin"), vocab, 0, meters, tempo=False)[0].instruments == (52,)


def test_the_bundled_model_sings_josquin_when_no_instrument_is_asked():
    reading, [gen] = tunesmith.compose("a chanson in the style of Josquin", seed=1, bars=4)
    row = gen.report["instruments"]
    assert reading.controls.instruments is None and row["measured"] == [52] and row["pass"]
    assert row["chosen"] == "choir in 8 of 8 josquin training pieces"
