"""The words tunesmith reads in prompts and writes in training captions (one table, both directions).

Captions (tunesmith.captions) describe training pieces with these words; the prompt reader
(tunesmith.prompt) looks for the same words, so what a user types is what the model was taught.
"""

from __future__ import annotations

from tunesmith.tokenizer import Controls

# ---- tempo --------------------------------------------------------------------------------------
# word -> quarter-note BPM it stands for (the middle of its usual range)
TEMPO_WORDS: dict[str, float] = {
    "very slow": 48, "grave": 40, "largo": 50, "lento": 56, "adagio": 66, "slow": 66, "larghetto": 63,
    "andante": 84, "walking pace": 84, "unhurried": 76, "moderato": 100, "moderate": 100,
    "medium tempo": 100, "allegretto": 110, "allegro": 132, "brisk": 126, "quick": 144, "fast": 144,
    "vivace": 160, "very fast": 184, "presto": 184, "prestissimo": 208, "uptempo": 140, "up-tempo": 140,
}


def tempo_word(bpm: float) -> str:
    """A plain word for a tempo, as a caption would say it."""
    for limit, word in ((56, "very slow"), (76, "slow"), (96, "andante"), (116, "moderate"),
                        (140, "allegro"), (170, "fast")):
        if bpm < limit:
            return word
    return "very fast"


# ---- meter and length ---------------------------------------------------------------------------
METER_WORDS: dict[str, str] = {
    "waltz time": "3/4", "common time": "4/4", "cut time": "2/2", "alla breve": "2/2",
    # dances whose name is their meter (the model's genres, e.g. jig and minuet, bring their own)
    "waltz": "3/4", "waltzes": "3/4", "mazurka": "3/4", "polonaise": "3/4", "sarabande": "3/4", "bolero": "3/4",
    "ländler": "3/4", "landler": "3/4", "polka": "2/4", "galop": "2/4", "habanera": "2/4", "gigue": "6/8",
    "tarantella": "6/8", "barcarolle": "6/8", "siciliano": "6/8", "siciliana": "6/8",
    # the Baroque suite's dances
    "allemande": "4/4", "courante": "3/2", "gavotte": "2/2", "bourrée": "2/2", "bourree": "2/2", "passepied": "3/8",
    "chaconne": "3/4", "passacaglia": "3/4", "pavane": "2/2", "pavan": "2/2", "galliard": "3/2",
}
SPOKEN_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                  "twelve": 12, "sixteen": 16}  # "three-four time"
LENGTH_WORDS = {"very short": 4, "short": 8, "brief": 8, "long": 32, "very long": 48}  # bars, when none are given


# ---- mood ---------------------------------------------------------------------------------------
# canonical mood -> words that say it. A piece's mood is read from its mode and tempo (mood_of), so
# a requested mood can be checked on the output with the same rule.
MOODS: dict[str, tuple[str, ...]] = {
    "happy": ("happy", "joyful", "cheerful", "bright", "merry", "upbeat", "jolly", "playful",
              "light", "lighthearted", "light-hearted", "carefree", "sunny", "festive", "celebratory", "triumphant"),
    "sad": ("sad", "melancholy", "melancholic", "mournful", "sorrowful", "gloomy", "tragic", "dark",
            "somber", "sombre", "wistful", "lament", "elegiac", "grieving", "funeral", "funereal", "mysterious",
            "eerie", "spooky", "haunting", "ominous", "sinister", "creepy", "brooding"),
    "calm": ("calm", "peaceful", "gentle", "serene", "tranquil", "relaxing", "soothing", "quiet", "dreamy",
             "lullaby", "lullabies", "cradle song", "berceuse", "meditative", "restful", "pastoral", "tender"),
    "energetic": ("energetic", "lively", "exciting", "driving", "spirited", "vigorous", "intense", "dancing",
                  "fiery", "stormy", "agitated", "furious", "frantic", "epic", "heroic"),
}
MOOD_TEMPO = {"happy": 116, "sad": 66, "calm": 72, "energetic": 152}  # a mood's tempo when none is asked
MOOD_MODE = {"happy": "major", "sad": "minor", "calm": "major", "energetic": None}


def mood_of(key: str | None, tempo: float | None) -> str | None:
    """The mood a mode and tempo imply: >= 132 BPM energetic; minor below that sad; major below
    90 calm, else happy. None when the key or tempo is unknown."""
    if not key or not tempo:
        return None
    if tempo >= 132:
        return "energetic"
    if key.endswith("minor"):
        return "sad"
    return "calm" if tempo < 90 else "happy"


def mood_holds(mood: str, key: str | None, tempo: float | None) -> bool:
    """Whether a measured key and tempo fit a requested mood."""
    if not key or not tempo:
        return False
    mode = "minor" if key.endswith("minor") else "major"
    if mood == "energetic":
        return tempo >= 120
    if mood == "sad":
        return mode == "minor" and tempo < 132
    if mood == "calm":
        return tempo < 100
    return mode == "major" and 84 <= tempo < 160  # happy


# ---- instruments --------------------------------------------------------------------------------
# ensemble words -> GM programs (single instrument names come from tunesmith.instruments)
_ORCHESTRA = (40, 41, 42, 43, 60, 68, 70, 71, 73, 56, 47)  # strings, woodwinds, horn, trumpet, timpani
_WIND_BAND = (56, 57, 58, 60, 68, 70, 71, 73)
ENSEMBLES: dict[str, tuple[int, ...]] = {
    "string quartet": (40, 41, 42), "string trio": (40, 41, 42), "strings": (40, 41, 42),
    "string orchestra": (40, 41, 42, 43), "piano trio": (0, 40, 42), "piano quartet": (0, 40, 41, 42),
    "woodwind quintet": (60, 68, 70, 71, 73), "wind quintet": (60, 68, 70, 71, 73),
    "woodwind quartet": (68, 70, 71, 73), "wind quartet": (68, 70, 71, 73), "reed trio": (68, 70, 71),
    "woodwinds": (68, 70, 71, 73), "winds": (68, 70, 71, 73), "wind band": _WIND_BAND,
    "clarinet quintet": (40, 41, 42, 71), "piano quintet": (0, 40, 41, 42), "string quintet": (40, 41, 42),
    **dict.fromkeys(("military band", "marching band", "concert band"), _WIND_BAND),
    "saxophone quartet": (64, 65, 66, 67), "sax quartet": (64, 65, 66, 67),
    "brass quintet": (56, 57, 58, 60), "brass": (56, 57, 58, 60), "brass band": (56, 57, 58, 60),
    "choir": (52,), "chorus": (52,), "voices": (52,), "a cappella": (52,), "satb": (52,),
    "organ": (19,), "solo piano": (0,), "piano solo": (0,), "keyboard": (0,),
    **dict.fromkeys(("orchestra", "orchestral", "symphony", "symphonic"), _ORCHESTRA), "band": (0, 25, 33, -1),
    "choral": (52,),  # "a choral piece" (the genre word "chorale" is its own)
    "rock band": (29, 30, 33, -1), "jazz trio": (0, 32, -1), "drums": (-1,), "drum kit": (-1,),
    "percussion": (-1,), "violin and piano": (0, 40), "cello and piano": (0, 42), "flute and piano": (0, 73),
    "bass guitar": (33,), "synth": (81,), "synthesizer": (81,), "synths": (81,), "electric piano": (4,),
    # last, so that a caption of a piano piece (ensemble_phrase: the first name of a set) says "solo piano"
    **dict.fromkeys(("piano duet", "four hands", "two pianos"), (0,)),
}

# Instruments people name that General MIDI lacks -> the GM programs nearest in sound.
NON_GM_INSTRUMENTS: dict[str, tuple[int, ...]] = {
    "theremin": (81, 85, 53), "ukulele": (24, 25), "mandolin": (25, 105), "lute": (24, 46), "oud": (24, 105),
    "erhu": (40, 110), "didgeridoo": (58, 109), "kazoo": (85, 53), "tabla": (116, -1), "djembe": (116, -1),
    "cajon": (-1, 116), "melodica": (22, 21), "zither": (15, 107), "lyre": (46, 107), "hurdy-gurdy": (110, 109),
    "bouzouki": (105, 25), "balalaika": (105, 24), "guzheng": (107, 46), "pipa": (105, 24), "duduk": (68, 71),
    "hang drum": (114, 12), "handpan": (114, 12), "mellotron": (48, 52), "uilleann pipes": (109, 74),
    "tin whistle": (74, 72), "hammond": (16, 17), "moog": (81, 80), "ondes martenot": (81, 53), "gamelan": (112, 12),
}


def ensemble_phrase(programs: tuple[int, ...]) -> str:
    """How a caption names an instrument set."""
    from tunesmith.instruments import program_name

    for name, progs in ENSEMBLES.items():
        if tuple(sorted(progs)) == tuple(sorted(programs)) and name not in ("drum kit", "percussion", "chorus"):
            return name
    names = [{52: "voices", 53: "voice", 0: "piano", -1: "drums"}.get(p) or program_name(p).lower() for p in programs]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# ---- styles -------------------------------------------------------------------------------------
# collections and genres as people name them (the labels themselves are also matched)
COLLECTION_WORDS: dict[str, tuple[str, ...]] = {
    "bach": ("bach chorale", "chorale", "lutheran chorale", "four-part chorale", "baroque chorale", "hymn", "hymns",
             "hymn tune"),
    "essenFolksong": ("german folk song", "german folk tune", "european folk song", "volkslied"),
    "oneills1850": ("irish folk tune", "irish traditional tune", "irish dance tune", "celtic tune"),
    "ryansMammoth": ("irish and american fiddle tune", "fiddle tune", "celtic dance tune"),
    "airdsAirs": ("scottish air", "scottish folk tune", "celtic air"),
    "miscFolk": ("folk tune",),
    "palestrina": ("renaissance polyphony", "renaissance mass", "renaissance motet", "motet", "sacred polyphony",
                   "palestrina mass"),
    "josquin": ("franco-flemish chanson", "renaissance chanson", "josquin chanson"),  # music21's Josquin: chansons
    "monteverdi": ("italian madrigal", "renaissance madrigal", "early baroque madrigal"),
    "trecento": ("medieval italian song", "ars nova", "trecento song"),
    "pianomidi": ("classical piano piece", "romantic piano piece", "piano solo"),
    "pop909": ("pop song", "pop piano", "chinese pop song", "pop ballad", "mandopop"),
}

# Forms that name a collection in a prompt but not every piece of it (so a caption never calls a Beethoven
# sonata a nocturne): the piano forms of piano-midi.de's Chopin, Liszt, Schubert, Beethoven...
FORM_WORDS: dict[str, tuple[str, ...]] = {
    "pianomidi": ("nocturne", "nocturnes", "mazurka", "mazurkas", "polonaise", "polonaises", "etude", "etudes",
                  "étude", "études", "impromptu", "impromptus", "ballade", "ballades", "piano sonata",
                  "piano sonatas", "sonatina", "sonatinas", "bagatelle", "bagatelles", "prelude", "preludes",
                  # Bach's three preludes and fugues, Liszt's and Brahms's rhapsodies, Brahms's intermezzi,
                  # Mendelssohn's songs without words, Chopin's and Schubert's fantasies, Chopin's scherzo; the
                  # toccata and the invention, keyboard forms it has none of, are nearest its Bach
                  "fugue", "fugues", "prelude and fugue", "invention", "inventions", "toccata", "toccatas",
                  "rhapsody", "rhapsodies", "intermezzo", "intermezzi", "song without words", "songs without words",
                  "fantasia", "fantasy", "fantasie", "fantaisie", "scherzo", "scherzi", "barcarolle", "barcarolles"),
    "bach": ("chorale prelude", "chorale preludes",  # an organ piece on a chorale tune, not a piano prelude
             "carol", "carols", "christmas carol", "christmas carols", "christmas hymn"),  # a strophic hymn in parts
}
# ... and the instruments a form is written for, when none is named ("a prelude in the style of Bach" is for the
# piano, not for the choir most of his training pieces are)
FORM_PROGRAMS: dict[str, tuple[int, ...]] = {"pianomidi": (0,)}
# ... and the forms whose name is a tempo (a tempo word or a BPM asked wins): piano-midi.de's two nocturnes run at
# 42 and 54 BPM, where its piano pieces at large run from 20 to 210 (the forms' meters are in METER_WORDS)
FORM_TEMPO: dict[str, float] = {"nocturne": 56, "nocturnes": 56}

# a dance or form named in a title or prompt -> the genre label it is filed under
TITLE_GENRES = (
    ("slip jig", "slip jig"), ("double jig", "jig"), ("single jig", "jig"), ("jig", "jig"),
    ("reel", "reel"), ("hornpipe", "hornpipe"), ("strathspey", "strathspey"), ("waltz", "waltz"),
    ("polka", "polka"), ("march", "march"), ("mazurka", "mazurka"), ("polonaise", "polonaise"),
    ("minuet", "minuet"), ("menuet", "minuet"), ("gavotte", "gavotte"), ("schottische", "schottische"),
    ("highland fling", "highland fling"), ("lament", "lament"), ("chorale", "chorale"),
    ("choral", "chorale"), ("madrigal", "madrigal"), ("ragtime", "rag"), ("rag", "rag"), ("requiem", "mass"),
    ("missa", "mass"),
)

# Styles people ask for that the bundled model has no pieces of -> UnservableAsk naming the nearest it knows
# (unless a model's own labels name them: one trained on jazz knows "jazz"). Not "latin" (a Latin mass is
# Palestrina's), nor the ensembles "rock band" and "jazz trio", which name instruments, nor words for a use
# ("a soundtrack", "cinematic"), which the music can serve in a style the model has.
_POP, _PIANO, _FOLK = ("pop909", "pianomidi"), ("pianomidi", "pop909"), ("folk song", "folk tune", "pop909")
UNKNOWN_STYLES: dict[str, tuple[str, ...]] = {  # -> the labels (collections, genres) to offer first, if known
    **dict.fromkeys(("jazz", "jazzy", "bebop", "swing", "big band", "blues", "bluesy", "boogie-woogie", "ragtime",
                     "bossa nova"), _PIANO),
    **dict.fromkeys(("rock", "rock and roll", "rock 'n' roll", "metal", "heavy metal", "punk", "grunge", "indie", "emo",
                     "hip hop", "hip-hop", "rap", "trap", "r&b", "rnb", "soul", "funk", "funky", "disco", "techno",
                     "house music", "trance", "edm", "dubstep", "drum and bass", "electronic music", "electronica",
                     "synthwave", "chiptune", "lo-fi", "lofi", "ambient", "reggae", "reggaeton", "ska", "afrobeat",
                     "k-pop", "j-pop", "musical theatre", "musical theater", "broadway", "video game music"), _POP),
    **dict.fromkeys(("country music", "country song", "bluegrass", "samba", "salsa", "tango", "flamenco"), _FOLK),
    "gospel": ("chorale", "bach"), "film score": _PIANO,
    **dict.fromkeys(("gregorian chant", "plainchant", "plainsong"), ("palestrina", "trecento")),
}

# Famous works people name instead of a style ("something like Für Elise") -> (composer, instruments). The piece
# asked is in that composer's style on the work's instruments (unless others are named); never the work itself.
FAMOUS_WORKS: dict[str, tuple[str, tuple[int, ...]]] = {
    **dict.fromkeys(("für elise", "fur elise", "moonlight sonata", "pathétique sonata", "pathetique sonata",
                     "appassionata", "waldstein sonata"), ("beethoven", (0,))),
    **dict.fromkeys(("ode to joy", "fate symphony"), ("beethoven", _ORCHESTRA)),
    **dict.fromkeys(("rondo alla turca", "turkish march", "alla turca"), ("mozart", (0,))),
    **dict.fromkeys(("eine kleine nachtmusik", "a little night music"), ("mozart", (40, 41, 42))),
    **dict.fromkeys(("minute waltz", "raindrop prelude", "revolutionary etude", "revolutionary étude",
                     "heroic polonaise", "fantaisie-impromptu", "fantaisie impromptu"), ("chopin", (0,))),
    **dict.fromkeys(("clair de lune", "golliwog's cakewalk", "the girl with the flaxen hair"), ("debussy", (0,))),
    **dict.fromkeys(("träumerei", "traumerei", "kinderszenen", "scenes from childhood", "carnaval"),
                    ("schumann", (0,))),
    **dict.fromkeys(("liebestraum", "liebesträume", "hungarian rhapsody", "la campanella"), ("liszt", (0,))),
    **dict.fromkeys(("well-tempered clavier", "well tempered clavier", "goldberg variations"), ("bach", (0,))),
    **dict.fromkeys(("toccata and fugue in d minor",), ("bach", (19,))),
    **dict.fromkeys(("air on the g string",), ("bach", (40, 41, 42))),
    **dict.fromkeys(("in the hall of the mountain king", "morning mood", "peer gynt"), ("grieg", _ORCHESTRA)),
    **dict.fromkeys(("the nutcracker", "nutcracker", "swan lake", "dance of the sugar plum fairy"),
                    ("tchaikovsky", _ORCHESTRA)),
    **dict.fromkeys(("pictures at an exhibition",), ("mussorgsky", (0,))),
    **dict.fromkeys(("gymnopédie", "gymnopedie", "gymnopédies", "gymnopedies"), ("satie", (0,))),
    **dict.fromkeys(("canon in d", "pachelbel's canon"), ("pachelbel", (40, 41, 42))),
    **dict.fromkeys(("the four seasons",), ("vivaldi", (40, 41, 42, 43))),
    **dict.fromkeys(("the entertainer", "maple leaf rag"), ("joplin", (0,))),
}

COMPOSER_NAMES: dict[str, str] = {  # slug -> how people write it
    "bach": "J. S. Bach", "schumann_clara": "Clara Schumann", "schumann": "Robert Schumann",
    "trad": "traditional", "anonymous": "anonymous", "burgmueller": "Burgmüller",
    "rachmaninoff": "Rachmaninoff", "mussorgsky": "Mussorgsky", "tchaikovsky": "Tchaikovsky",
}


def composer_phrase(slug: str) -> str:
    return COMPOSER_NAMES.get(slug, slug.replace("_", " ").title())


def describe_controls(c: Controls) -> str:
    """A plain one-line reading of controls, for messages ('D minor, 3/4, 66 BPM, strings')."""
    parts = [composer_phrase(c.composer) if c.composer else None, c.genre, c.collection, c.key, c.meter,
             f"{c.tempo:g} BPM" if c.tempo else None,
             ensemble_phrase(c.instruments) if c.instruments else None]
    return ", ".join(p for p in parts if p) or "no controls"
