"""Prompt reading: paraphrases agree, explicit patterns win, flags win over words, unknown asks are refused."""

import pytest

from tunesmith.prompt import UnservableAsk, preferred_mode, read_prompt, settle_length, understand
from tunesmith.tokenizer import ControlVocab, Tokenizer

VOCAB = ControlVocab(
    collections=["bach", "essenFolksong", "oneills1850", "palestrina", "pianomidi", "pop909", "ryansMammoth"],
    composers=["bach", "beethoven", "chopin", "debussy", "mozart", "palestrina", "schubert", "trad"],
    genres=["chorale", "reel", "jig", "folk song", "mass", "pop", "hornpipe", "march"],
)
METERS = Tokenizer(VOCAB).meters


def read(text, **kw):
    return understand(text, VOCAB, METERS, **kw)


def test_the_issue_prompts():
    r = read("a slow, sad chorale in D minor for strings, 16 bars")
    c = r.controls
    assert (c.genre, c.key, c.tempo, c.instruments, r.bars, r.mood) == ("chorale", "D minor", 66.0, (40, 41, 42), 16, "sad")
    r = read("compose a piano piece in the style of Chopin")
    assert (r.controls.composer, r.controls.instruments, r.bars) == ("chopin", (0,), 16)
    assert "chopin" in r.how["composer"] and "default" in r.how["length"]
    assert r.to_dict()["controls"]["composer"] == "chopin"  # the API's JSON


@pytest.mark.parametrize("text", [
    "a reel in G major for fiddle at 120 bpm, 8 bars",
    "Write an 8-bar reel, key of G major, 120 BPM, played on fiddle",
    "fiddle reel, G major, tempo 120, eight bars",
    "I want a reel for fiddle in g major at a tempo of 120 bpm lasting 8 measures",
])
def test_paraphrases_agree(text):
    r = read(text)
    assert (r.controls.genre, r.controls.key, r.controls.tempo, r.controls.instruments, r.bars) == \
        ("reel", "G major", 120.0, (110,), 8)


@pytest.mark.parametrize("text,key", [("in F sharp minor", "F# minor"), ("B-flat major", "Bb major"),
                                      ("Eb major", "Eb major"), ("waltz in a minor", "A minor"), ("C# min", "C# minor")])
def test_key_spellings(text, key):
    assert read_prompt(text, VOCAB, METERS, use_meaning=False).controls.key == key


def test_a_minor_piece_is_not_a_key():
    assert read_prompt("a minor piece for flute", VOCAB, METERS, use_meaning=False).controls.key is None


def test_explicit_numbers_beat_words_and_meters_and_lengths():
    r = read("a fast piece at 72 bpm in 6/8, 30 seconds")
    assert r.controls.tempo == 72.0 and r.controls.meter == "6/8"
    # 30 s at 72 BPM in 6/8 (3 quarters a bar = 2.5 s) -> 12 bars
    assert r.bars == 12 and r.seconds == 30
    assert read("an allegro march in common time").controls.tempo == 132.0
    assert read("an allegro march in common time").controls.meter == "4/4"


@pytest.mark.parametrize("text,meter", [("a waltz in the style of Chopin", "3/4"), ("a mazurka for piano", "3/4"),
                                        ("a polka for accordion", "2/4"), ("a waltz in 6/8", "6/8"),
                                        ("a gigue", "6/8"), ("a tarantella for piano", "6/8"), ("a habanera", "2/4"),
                                        ("a bolero", "3/4"), ("a gavotte in the style of Bach", "2/2"),
                                        ("a passacaglia for organ", "3/4"), ("a courante", "3/2")])
def test_a_dance_named_is_its_meter_unless_one_is_given(text, meter):
    r = read(text)
    assert r.controls.meter == meter and "meter" in r.how
    assert not any("by meaning" in how for how in r.how.values())  # "a habanera" had been read as a madrigal


@pytest.mark.parametrize("text,field,value", [
    ("epic orchestral music for a film", "instruments", (40, 41, 42, 43, 60, 68, 70, 71, 73, 56, 47)),
    ("a symphony in the style of Mozart", "instruments", (40, 41, 42, 43, 60, 68, 70, 71, 73, 56, 47)),
    ("a choral piece", "instruments", (52,)), ("a Christmas carol", "collection", "bach"),
    ("a carol for brass", "collection", "bach"), ("a requiem", "genre", "mass"),
    ("a barcarolle", "collection", "pianomidi")])
def test_words_musicians_use_for_ensembles_and_forms(text, field, value):
    """Asks that had been read as no style and no instruments at all: the model wrote whatever it liked."""
    assert getattr(read(text).controls, field) == (tuple(sorted(value)) if field == "instruments" else value)


def test_epic_and_heroic_are_energetic():
    assert read("epic orchestral music for a film").mood == "energetic" and read("a heroic march").mood == "energetic"


def test_seconds_without_tempo_or_meter_say_what_was_assumed():
    r = read("a chorale, 2 minutes long")
    assert r.controls.tempo == 100 and r.controls.meter == "4/4" and r.bars == 50
    assert "set to 100 BPM" in r.how["tempo"] and "4/4" in r.how["meter"]


def test_flags_override_the_words():
    r = read("a slow, sad chorale in D minor for strings", key="E minor", tempo=80, instruments=(52,), bars=4,
             style="bach")
    c = r.controls
    assert (c.key, c.tempo, c.instruments, r.bars, c.composer) == ("E minor", 80, (52,), 4, "bach")
    assert r.how["key"] == "set by you" and r.controls.genre == "chorale"


def test_mood_sets_tempo_and_mode_only_when_not_given():
    r = read("a sad tune")
    assert r.mood == "sad" and r.controls.tempo == 66 and r.controls.key.endswith("minor")
    assert "chosen for the mood" in r.how["key"] and preferred_mode(r) is None
    assert read("a happy tune").controls.key.endswith("major")
    r = read("a sad tune at 100 bpm in C major")
    assert r.controls.tempo == 100 and preferred_mode(r) is None
    assert read("a lively jig").mood == "energetic"
    r = read("a light piano piece in the style of Mozart")  # light-hearted, not the 40 BPM of a slow movement
    assert r.mood == "happy" and r.controls.tempo == 116 and "'light'" in r.how["mood"]
    assert read("a moonlight serenade").mood != "happy" and read("a light-hearted waltz").mood == "happy"
    funeral = read("a funeral march")
    assert (funeral.controls.genre, funeral.mood, funeral.controls.tempo) == ("march", "sad", 66.0)
    assert funeral.controls.key.endswith("minor")
    assert read("a stormy piano piece in the style of Beethoven").mood == "energetic"
    assert read("a festive march for brass").mood == "happy" and read("a meditative chorale").mood == "calm"
    assert read("a spooky halloween tune").mood == read("a mysterious piece for strings").mood == "sad"  # minor
    assert read("a pastoral melody for oboe").mood == "calm"


def test_style_by_meaning_and_not_by_accident():
    r = read("a Lutheran church song for four voices")
    assert r.controls.collection == "bach" and "by meaning" in r.how["collection"]
    assert r.controls.instruments == (52,)
    assert read("a baroque hymn for four voices").how["collection"] == "'hymn' in the prompt"  # named outright
    plain = read("a calm tune in 3/4")  # nothing names a style: none is invented
    assert (plain.controls.composer, plain.controls.collection, plain.controls.genre) == (None, None, None)


def test_an_instrument_joined_to_another_inside_a_style_phrase_is_named():
    assert read("a gentle clarinet and piano solo in F major").controls.instruments == (0, 71)
    assert read("a pop song for strings").controls.instruments == (40, 41, 42)  # the strings replace the piano
    assert read("a classical piano piece").controls.instruments == (0,)


def test_an_instrument_added_with_with_joins_the_styles_own():
    """'a pop song with drums' is the pop song's piano and drums, not a drum solo; 'for' still replaces."""
    vocab = ControlVocab(collections=["bach", "pop909"], composers=["bach"], genres=["chorale", "pop"],
                         instrumentation={"collection": {"pop909": {"0": 700}, "bach": {"52": 338, "0,52": 31}},
                                          "genre": {"chorale": {"52": 338}}})
    meters = Tokenizer(vocab).meters
    r = understand("a pop song with drums", vocab, meters)
    assert r.controls.instruments == (-1, 0) and "added to Acoustic Grand Piano" in r.how["instruments"]
    assert understand("a chorale with organ", vocab, meters).controls.instruments == (19, 52)
    assert understand("a pop song for drums and piano", vocab, meters).controls.instruments == (-1, 0)
    assert understand("a pop song for strings", vocab, meters).controls.instruments == (40, 41, 42)
    assert read("a melody with drums").controls.instruments == (-1, 0)  # no style: piano


@pytest.mark.parametrize("text", ["a lullaby", "a berceuse for piano", "a cradle song for flute"])
def test_night_pieces_are_calm(text):
    r = read(text)
    assert r.mood == "calm" and r.controls.tempo == 72


def test_renaissance_polyphony_is_palestrina_and_a_chanson_is_josquin():
    """Palestrina's masses (1,178 pieces) stand for Renaissance polyphony; music21's Josquin pieces are chansons."""
    vocab = ControlVocab(collections=["bach", "josquin", "palestrina"], composers=["bach", "josquin", "palestrina"],
                         genres=["chorale", "mass"])
    meters = Tokenizer(vocab).meters
    for text in ("a Renaissance motet", "a motet for choir", "some renaissance polyphony"):
        assert understand(text, vocab, meters).controls.collection == "palestrina", text
    assert understand("a Renaissance chanson", vocab, meters).controls.collection == "josquin"
    assert understand("a piece in the style of Josquin", vocab, meters).controls.composer == "josquin"


@pytest.mark.parametrize("text,named", [("something in the style of Gershwin", "Gershwin"),
                                        ("a waltz like Tchaikovsky", "Tchaikovsky")])
def test_unknown_composer_names_nearest_known(text, named):
    with pytest.raises(UnservableAsk) as e:
        read(text)
    msg = str(e.value)
    assert named in msg and "Nearest styles it knows" in msg
    assert any(c in msg for c in VOCAB.composers)


@pytest.mark.parametrize("text,named", [("a jazz ballad for piano", "jazz"), ("a rock song", "rock"),
                                        ("a bluesy piano piece", "bluesy"),
                                        ("a slow blues in E", "blues"), ("a techno track", "techno"),
                                        ("a bossa nova for guitar", "bossa nova"), ("a gospel hymn", "gospel")])
def test_unknown_genre_is_refused_not_ignored(text, named):
    """A style the model has no pieces of is named back with the nearest it knows, never dropped silently."""
    with pytest.raises(UnservableAsk) as e:
        read(text)
    msg = str(e.value)
    assert f"'{named}'" in msg and "Nearest styles it knows" in msg
    near = msg.split("Nearest styles it knows: ")[1].split(". Ask")[0].split(", ")
    assert len(near) == 3 and all(n.endswith(("(genre)", "(collection)")) for n in near)  # no composer for a genre
    first = {"jazz": "pianomidi (collection)", "rock": "pop909 (collection)", "blues": "pianomidi (collection)",
             "bluesy": "pianomidi (collection)",
             "techno": "pop909 (collection)", "bossa nova": "pianomidi (collection)", "gospel": "chorale (genre)"}
    assert near[0] == first[named]  # words.UNKNOWN_STYLES: the styles to offer first


def test_unknown_genre_words_a_model_knows_or_that_name_instruments():
    assert read("a pop song for rock band").controls.collection == "pop909"  # "rock band" is the instruments
    assert read("a piece for jazz trio").controls.instruments == (-1, 0, 32)
    assert read("a Latin mass").controls.genre == "mass"  # not "latin" music
    vocab = ControlVocab(collections=["mine"], composers=["joplin"], genres=["jazz", "rag"])
    meters = Tokenizer(vocab).meters
    assert understand("a slow jazz ballad", vocab, meters).controls.genre == "jazz"  # a model trained on jazz
    assert understand("a ragtime by Joplin", vocab, meters).controls.genre == "rag"  # the data's title word for it


@pytest.mark.parametrize("text,collection,tempo", [
    ("a romantic nocturne", "pianomidi", 56.0), ("a nocturne at 80 bpm", "pianomidi", 80.0),
    ("a mazurka in the style of Chopin", "pianomidi", None), ("an etude", "pianomidi", None),
    ("a piano sonata in the style of Mozart", "pianomidi", None), ("a hymn in G major", "bach", None),
    ("an organ chorale prelude", "bach", None), ("a fugue in the style of Bach", "pianomidi", None),
    ("a song without words", "pianomidi", None), ("a rhapsody", "pianomidi", None)])
def test_forms_name_the_collection_that_has_them(text, collection, tempo):
    r = read(text)
    assert (r.controls.collection, r.controls.tempo) == (collection, tempo)
    if "mazurka" in text:
        assert (r.controls.meter, r.controls.composer) == ("3/4", "chopin")
    if "sonata" in text:
        assert (r.controls.instruments, r.controls.composer) == ((0,), "mozart")
    if collection == "pianomidi":  # a piano form is for the piano unless other instruments are named
        assert r.controls.instruments == (0,)


def test_a_piano_form_is_for_the_piano_unless_instruments_are_named():
    r = read("a prelude in the style of Bach")  # not for the choir most of Bach's training pieces are
    assert (r.controls.composer, r.controls.collection, r.controls.instruments) == ("bach", "pianomidi", (0,))
    assert r.how["instruments"] == "the form 'prelude'"
    assert read("a nocturne for strings").controls.instruments == (40, 41, 42)
    assert read("a hymn").controls.instruments is None  # the chorales' own choir is drawn with the style


def test_unknown_instrument_and_meter_and_style_flag():
    with pytest.raises(UnservableAsk, match="theremin.*not a General MIDI instrument.*Lead"):
        read("a melody for theremin")
    with pytest.raises(UnservableAsk, match="meter 7/16"):
        read("a dance in 7/16")
    with pytest.raises(UnservableAsk, match="'ravel'.*Nearest"):
        read(None, style="ravel")


def test_settle_length_defaults():
    r = settle_length(read_prompt("a jig", VOCAB, METERS, use_meaning=False), 8)
    assert r.bars == 8 and "default" in r.how["length"]
    assert read("").controls.composer is None  # no prompt: flags only


@pytest.mark.parametrize("text,programs", [
    ("please write a classical piano piece for acoustic guitar", (25,)),  # named instrument replaces the style's
    ("a classical piano piece", (0,)),
    ("pop piano with drums", (-1, 0)),  # "with" adds
    ("a pop song for strings", (40, 41, 42)),
    ("a wind quintet in the style of Mozart", (60, 68, 70, 71, 73)),  # flute, oboe, clarinet, bassoon, horn
    ("a clarinet quintet", (40, 41, 42, 71)),
])
def test_instruments_inside_style_words(text, programs):
    assert read_prompt(text, VOCAB, METERS, use_meaning=False).controls.instruments == programs


def test_known_composer_inside_a_style_phrase_and_hyphenated():
    r = read("please write a Bach chorale for brass")
    assert r.controls.composer == "bach" and r.controls.collection == "bach"
    assert read("Chopin-inspired music in B major").controls.composer == "chopin"


def test_a_number_of_voices_is_read_from_the_words():
    assert read("Renaissance polyphony for four voices").voices == 4
    assert read("a 3-part motet").voices == 3 and read("a five-part motet").voices == 5
    assert read("a 3-voice fugue").voices == 3 and read("a minuet in two parts").voices is None  # a form
    r = read("a four-part Bach chorale for choir")
    assert r.voices == 4 and r.controls.collection == "bach" and "'four-part'" in r.how["voices"]
    assert read("an SATB hymn").voices == 4 and read("a chorale for two voices").voices == 2
    assert read("a chorale for two voices").controls.instruments == (52,)  # sung, when nothing else is named
    r = read("a chorale for strings in three voices")  # the strings play the three parts; no choir
    assert r.voices == 3 and r.controls.instruments == (40, 41, 42)
    assert read("a piano piece in two voices").controls.instruments == (0,)
    r = read("a Bach-style invention for two voices")  # a keyboard form's voices are its parts, not singers
    assert r.voices == 2 and r.controls.instruments == (0,) and "'invention'" in r.how["instruments"]
    assert read("a motet for five voices").controls.instruments == (52,)  # a sung form's are its singers
    for text in ("a string quartet", "a song for voice and piano", "a chorale for choir", "eight bars for voices"):
        assert read(text).voices is None, text
    assert read("a chorale for four voices", voices=2).voices == 2 and "set by you" in read("x", voices=2).how["voices"]
    with pytest.raises(UnservableAsk, match="40 voices"):
        read("a motet for 40 voices")
    assert "voices      4   <- 'four voices' in the prompt" in read("a motet for four voices").summary()


def test_generation_options_serve_the_reading_as_the_cli_does():
    from tunesmith.generate import GenerationOptions

    r = read("a sad motet for four voices, eight bars")
    opts = GenerationOptions.from_reading(r, seed=3)
    assert (opts.voices, opts.mood, opts.bars, opts.seed) == (4, "sad", 8, 3) and opts.controls == r.controls
    assert opts.text == "a sad motet for four voices, eight bars"  # the words as typed reach the text encoder
    assert GenerationOptions.from_reading(read("a motet", bars=0, default_bars=None)).bars is None  # model decides
    assert GenerationOptions.from_reading(r, voices=None).voices is None  # an option given wins


@pytest.mark.parametrize("text,composer,instruments", [
    ("something like Für Elise", "beethoven", (0,)), ("a piece like Clair de lune", "debussy", (0,)),
    ("a waltz like the Minute Waltz", "chopin", (0,)), ("Für Elise for strings", "beethoven", (40, 41, 42)),
    ("a string trio like Eine kleine Nachtmusik", "mozart", (40, 41, 42))])
def test_a_famous_work_names_its_composer_and_instruments(text, composer, instruments):
    """'something like Für Elise' had been refused as an unknown style named 'Für Elise'."""
    r = read(text)
    assert (r.controls.composer, r.controls.instruments) == (composer, instruments)
    assert "by " in r.how["composer"]


def test_a_famous_work_by_a_composer_the_model_does_not_know_is_refused_naming_him():
    with pytest.raises(UnservableAsk, match="'gymnopédie' is by Satie"):
        read("something like a Gymnopédie")


@pytest.mark.parametrize("text,mode", [("a piece in a minor key", "minor"), ("a sad waltz in a major key", "major"),
                                       ("a chorale in a minor mode", "minor")])
def test_a_mode_named_without_a_tonic_picks_a_key_in_it(text, mode):
    """'in a minor key' had been read as A minor."""
    r = read(text)
    assert r.controls.key.endswith(mode) and f"{mode} " in r.how["key"] and "chosen" in r.how["key"]


def test_in_a_minor_is_still_a_key_and_a_minor_piece_is_not():
    assert read("a piece in a minor").controls.key == "A minor"
    assert read("a minor piece").controls.key is None


@pytest.mark.parametrize("text,instruments", [
    ("a duet for two violins", (40,)), ("a quartet for saxophones", (65,)), ("a piece for two pianos", (0,)),
    ("a piece for four hands", (0,)), ("a song for soprano and piano", (0, 53)), ("a string quintet", (40, 41, 42)),
    ("a march for military band", (56, 57, 58, 60, 68, 70, 71, 73)), ("a piece for alto saxophone", (65,)),
    ("a melody for bass clarinet", (71,)), ("a tenor sax solo", (66,)), ("a pop song with a bass", (0, 32))])
def test_plurals_voices_and_sized_instruments_are_read(text, instruments):
    """Plurals and singers had been read as no instrument, a military band as a rock band, an alto saxophone
    as a choir and a saxophone, a bass clarinet as a bass and a clarinet."""
    assert read(text).controls.instruments == instruments


@pytest.mark.parametrize("text,key", [("a piece in D dorian", "D minor"), ("a tune in G mixolydian", "G major"),
                                      ("a piece in F# phrygian", "F# minor"), ("a waltz in Bb lydian", "Bb major")])
def test_a_church_mode_is_the_key_on_its_tonic_and_says_so(text, key):
    """A mode had been dropped without a word: the model writes in major and minor keys only."""
    r = read(text)
    assert r.controls.key == key and "nearest key" in r.how["key"]


@pytest.mark.parametrize("text,key", [("a jig in D", "D major"), ("a waltz in the key of G", "G major"),
                                      ("a piano piece in E flat", "Eb major"), ("a reel in Bb", "Bb major"),
                                      ("a piece in F sharp", "F# major"), ("a piece in D minor", "D minor"),
                                      ("a motet in A cappella style", None), ("a piece in Bach's style", None)])
def test_a_tonic_named_without_its_mode_is_major(text, key):
    """'a jig in D' had been read with no key."""
    assert read(text).controls.key == key


@pytest.mark.parametrize("text,meter", [("a piece in three-four time", "3/4"), ("a dance in six-eight", "6/8"),
                                        ("a march in 2 4 time", "2/4"), ("a piece in two four-bar phrases", None)])
def test_a_meter_said_in_words_is_read(text, meter):
    assert read(text).controls.meter == meter


@pytest.mark.parametrize("text,bars", [("a very short piece", 4), ("a short piece for piano", 8),
                                       ("a long piece for strings", 32), ("a long piece, 12 bars", 12),
                                       ("a piece 2 minutes long", 50)])
def test_short_and_long_set_a_length_unless_one_is_given(text, bars):
    assert read(text).bars == bars
