"""Free text -> structured controls: what the user asked for, and how it was understood.

    read_prompt("a slow, sad chorale in D minor for strings, 16 bars", model.tokenizer.controls)
    -> Reading(controls=Controls(genre="chorale", key="D minor", tempo=66, instruments=(40, 41, 42)),
               bars=16, mood="sad", how={"key": "'D minor' in the prompt", ...})

Explicit patterns come first (numbers, key names, meters, tempo words, instrument and style names);
what they leave open is matched by meaning: the all-MiniLM-L6-v2 embedding of the prompt against a
description of every label the model knows. An ask the model cannot serve raises UnservableAsk,
naming the nearest styles it does know; nothing is silently substituted.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from dataclasses import dataclass, field, replace

from tunesmith import ops
from tunesmith.errors import TunesmithError
from tunesmith.instruments import (DRUMS, NAME_TO_PROGRAM, PIANO, most_played, pieces_per_program, program_name,
                                   unlearned, usual_instruments)
from tunesmith.ops import MAX_VOICES
from tunesmith.tokenizer import Controls, ControlVocab
from tunesmith.words import (COLLECTION_WORDS, ENSEMBLES, FAMOUS_WORKS, FORM_PROGRAMS, FORM_TEMPO, FORM_WORDS,
                             LENGTH_WORDS, METER_WORDS, MOOD_MODE, MOOD_TEMPO, MOODS, NON_GM_INSTRUMENTS, SPOKEN_NUMBERS,
                             TEMPO_WORDS, TITLE_GENRES, UNKNOWN_STYLES, composer_phrase)

STYLE_MATCH = 0.5  # least cosine similarity for a style matched by meaning alone
MOOD_MATCH = 0.5  # ... and for a mood
MEANING_MARGIN = 0.1  # ... and by how much it must beat the prompt's likeness to plain "a piece of music"
GENERIC = ("a piece of music", "a tune", "a song", "music", "a composition")
DEFAULT_BARS = 16
COMMON_TONICS = {"major": ("C", "G", "D", "F", "A", "Bb", "Eb"), "minor": ("A", "D", "E", "G", "C", "B")}

# Composers people ask for: named in a prompt but absent from the model's labels -> UnservableAsk.
FAMOUS_COMPOSERS = (
    "albeniz", "bach", "bartok", "beethoven", "berlioz", "bizet", "borodin", "brahms", "bruckner", "buxtehude",
    "byrd", "chopin", "clementi", "copland", "corelli", "couperin", "debussy", "dvorak", "einaudi", "elgar",
    "faure", "franck", "gershwin", "glass", "grieg", "handel", "haydn", "hindemith", "holst", "josquin", "joplin",
    "liszt", "mahler", "mendelssohn", "messiaen", "monteverdi", "mozart", "mussorgsky", "paganini", "palestrina",
    "pachelbel", "prokofiev", "puccini", "purcell", "rachmaninoff", "rameau", "ravel", "reich", "rossini",
    "satie", "scarlatti", "schoenberg", "schubert", "schumann", "scriabin", "shostakovich", "sibelius",
    "strauss", "stravinsky", "tallis", "tchaikovsky", "telemann", "verdi", "vivaldi", "wagner", "zimmer",
)
STYLE_CUE = r"(?:in the style of|style of|in the manner of|by|like|inspired by|after|a la|à la)"


class UnservableAsk(TunesmithError):
    """The prompt asks for something the model does not know (a style, an instrument)."""


@dataclass
class Reading:
    """What a prompt was understood to ask for."""

    text: str
    controls: Controls = Controls()
    bars: int | None = None  # None: not asked (generation's default applies)
    seconds: float | None = None  # a length asked in time; bars are derived from it and the tempo
    mood: str | None = None  # happy / sad / calm / energetic (checked on the output through mode and tempo)
    voices: int | None = None  # "for four voices": the notes that sound together (GenerationOptions.voices)
    how: dict[str, str] = field(default_factory=dict)  # control -> how it was found

    def to_dict(self) -> dict:
        return {"text": self.text, "controls": self.controls.to_dict(), "bars": self.bars, "seconds": self.seconds,
                "mood": self.mood, "voices": self.voices, "how": dict(self.how)}

    def summary(self) -> str:
        """Lines for the terminal: one per understood control."""
        c, rows = self.controls, []
        for name, value in (("composer", c.composer), ("collection", c.collection), ("genre", c.genre),
                            ("key", c.key), ("meter", c.meter), ("tempo", f"{c.tempo:g} BPM" if c.tempo else None),
                            ("instruments", _instrument_names(c.instruments)), ("voices", self.voices),
                            ("mood", self.mood),
                            ("length", f"{self.bars} bars" + (f" (~{self.seconds:g} s)" if self.seconds else "")
                             if self.bars else None)):
            if value is not None:
                rows.append(f"  {name:<12}{value}" + (f"   <- {self.how[name]}" if name in self.how else ""))
        return "\n".join(rows) or "  (no controls: free generation)"


def _instrument_names(programs) -> str | None:
    if not programs:
        return None
    from tunesmith.instruments import program_name

    return ", ".join(program_name(p) for p in programs)


# ---- explicit patterns --------------------------------------------------------------------------

_ACCIDENTAL = r"(#|♯|b|♭|-sharp|-flat| sharp| flat)?"
_KEY = re.compile(r"(?:\b(?:in|key of)\s+)?\b([A-Ga-g])\s*" + _ACCIDENTAL + r"[\s-]*(major|minor|maj|min)\b", re.I)
_CHURCH_MODE = re.compile(r"\b([A-G])\s*" + _ACCIDENTAL + r"[\s-]*(dorian|phrygian|lydian|mixolydian|aeolian|ionian"
                          r"|locrian)\b", re.IGNORECASE)
_MINOR_MODES = ("dorian", "phrygian", "aeolian", "locrian")  # a minor third above the tonic
_MODE_ASKED = re.compile(r"\s*\b(major|minor)[\s-]+(?:key|mode|tonality)\b", re.IGNORECASE)  # no tonic named
_TONIC = re.compile(r"\b(?:in|key of)\s+(?:the key of\s+)?([A-G])(\s*(?:#|♯|♭|-sharp|-flat| sharp| flat)|b)?"
                    r"(?![\w#♯♭'-]|\s+cappella)")
#                     "a jig in D", "in E flat": a key named without its mode is major, as musicians mean it
_METER = re.compile(r"\b(\d{1,2})\s*/\s*(\d{1,2})\b")
_METER_SPOKEN = re.compile(r"\b(two|three|four|five|six|seven|nine|twelve)[\s-](two|four|eight|sixteen)(?![\w-])"
                           r"(?:\s+time)?|\b(\d{1,2})\s+(\d{1,2})\s+time\b")  # "three-four time", "6 8 time"
_BPM = re.compile(r"(?:\b(?:tempo(?: of)?|at|♩\s*=|quarter\s*=)\s*)?\b(\d{2,3})\s*(?:bpm|beats per minute|beats a minute)\b"
                  r"|\btempo(?: of)?\s+(\d{2,3})\b|♩\s*=\s*(\d{2,3})", re.IGNORECASE)
_BARS = re.compile(r"\b(\d{1,3})[\s-]*(?:bars?|measures?)\b", re.IGNORECASE)
_SECONDS = re.compile(r"\b(\d{1,4}(?:\.\d+)?)[\s-]*(seconds?|secs?|s|minutes?|mins?)\b(?:\s+long)?", re.IGNORECASE)
_VOICES = re.compile(r"\b(?:(\d{1,2}|two|three|four|five|six|seven|eight)(?:\s+|-)(?:voices?|part|vocal parts)"
                     r"|(satb))\b", re.IGNORECASE)  # "for four voices", "a 3-part motet", "SATB"; not "in two
#                                                    parts", which names a form as often as a texture
_VOICE_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "satb": 4}
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "ten": 10,
                 "twelve": 12, "sixteen": 16, "twenty": 20, "thirty": 30, "a": 1, "an": 1, "half a": 0.5}


def _words_to_numbers(text: str) -> str:
    """'eight bars' -> '8 bars', 'a minute' -> '1 minute' (only before a unit word)."""
    pattern = r"\b(" + "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True)) + \
              r")(?=[\s-]+(?:bars?|measures?|minutes?|seconds?)\b)"
    return re.sub(pattern, lambda m: f"{_NUMBER_WORDS[m.group(1).lower()]:g}", text, flags=re.IGNORECASE)


def _find_phrase(text: str, phrases) -> list[tuple[int, str]]:
    """Where whole-word phrases occur in lower-case text (longest first, non-overlapping)."""
    taken, found = [False] * len(text), []
    for phrase in sorted(phrases, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w-]){re.escape(phrase)}(?!\w|-(?!inspired|style|like))", text):
            if not any(taken[m.start(): m.end()]):
                taken[m.start(): m.end()] = [True] * (m.end() - m.start())
                found.append((m.start(), phrase))
    return sorted(found)


def _key(text: str) -> str | None:
    for m in _KEY.finditer(text):
        letter, acc, mode = m.group(1), (m.group(2) or "").strip().lower(), m.group(3).lower()
        if letter.islower() and letter == "a" and (not m.group(0).lower().startswith(("in", "key"))
                                                   or _MODE_ASKED.match(text, m.start(1) + 1)):
            continue  # "a minor piece" and "in a minor key" are an article, "in a minor" is a key
        acc = {"sharp": "#", "-sharp": "#", "♯": "#", "flat": "b", "-flat": "b", "♭": "b"}.get(acc, acc)
        return ops.normalize_key(f"{letter.upper()}{acc} {'minor' if mode.startswith('min') else 'major'}")
    return None


def _voices(low: str) -> tuple[int | None, str | None, tuple[int, int] | None]:
    """The number of voices a prompt asks for ("for four voices", "a 3-part motet", "SATB"), the words, and
    where they are."""
    m = _VOICES.search(low)
    if not m:
        return None, None, None
    word = (m.group(1) or m.group(2)).lower()
    return _servable_voices(_VOICE_NUMBERS.get(word) or int(word)), f"'{m.group(0)}' in the prompt", m.span()


def _servable_voices(n: int) -> int:
    if not 1 <= n <= MAX_VOICES:
        raise UnservableAsk(f"{n} voices: ask for 1 to {MAX_VOICES}")
    return n


def _tempo(low: str) -> tuple[float | None, str | None]:
    m = _BPM.search(low)
    if m:
        bpm = float(next(g for g in m.groups() if g))
        if not 20 <= bpm <= 300:
            raise UnservableAsk(f"tempo {bpm:g} BPM is outside 20-300 BPM")
        return bpm, f"'{m.group(0).strip()}' in the prompt"
    found = _find_phrase(low, TEMPO_WORDS)
    if found:
        word = found[0][1]
        return float(TEMPO_WORDS[word]), f"the word '{word}'"
    found = _find_phrase(low, FORM_TEMPO)
    if found:
        word = found[0][1]
        return float(FORM_TEMPO[word]), f"the word '{word}' (a slow form)"
    return None, None


def _length(low: str) -> tuple[int | None, float | None, str | None]:
    m = _BARS.search(low)
    if m:
        return int(m.group(1)), None, f"'{m.group(0)}' in the prompt"
    m = _SECONDS.search(low)
    if m:
        value, unit = float(m.group(1)), m.group(2).lower()
        seconds = value * 60 if unit.startswith("min") else value
        return None, seconds, f"'{m.group(0).strip()}' in the prompt"
    found = _find_phrase(low, LENGTH_WORDS)
    if found:
        return LENGTH_WORDS[found[0][1]], None, f"the word '{found[0][1]}'"
    return None, None, None


_JOINED = re.compile(r"\b(?:with|and|plus)\s+(?:a |an |the )?$")  # an instrument joined to another
_ADDED = re.compile(r"\b(?:with|plus)\s+(?:a |an |the |some )?$")  # an instrument added to the music


# instrument and ensemble names -> GM programs ("a", a GM name's abbreviation, is not one)
_INSTRUMENT_PHRASES = {**{n: (p,) for n, p in NAME_TO_PROGRAM.items() if not n.isdigit() and n != "a"}, **ENSEMBLES}


def _instruments(low: str) -> tuple[tuple[int, ...] | None, str | None, bool]:
    """Instruments named in the prompt, how, and whether every one is added to the music ("a pop song
    with drums", "plus a bass") rather than named as what it is for. One implied by a style's words
    ("a classical *piano* piece") counts only when no instrument is named outside them ("... for
    acoustic guitar")."""
    names = _INSTRUMENT_PHRASES
    found = _find_phrase(low, names)
    if not found:
        return None, None, False
    added = all(_ADDED.search(low[:at]) for at, _ in found)
    styles = _find_phrase(low, {w for words in COLLECTION_WORDS.values() for w in words})
    inside = {(at, n) for at, n in found for s_at, phrase in styles if s_at <= at < s_at + len(phrase)}
    outside = [f for f in found if f not in inside]
    joined = [f for f in found if _JOINED.search(low[:f[0]])]  # "clarinet and piano solo": the piano is named
    if outside and not all(f in joined for f in outside):
        # "a pop song for strings": the strings replace the style's piano; "with drums" adds
        found = sorted(set(outside) | {f for f in inside if f in joined})
    programs = tuple(sorted({p for _, name in found for p in names[name]}))
    return programs, "named: " + ", ".join(f"'{n}'" for _, n in found), added


def _unknown_instrument(low: str) -> None:
    """An instrument General MIDI lacks ('for theremin') -> UnservableAsk naming the nearest GM sounds."""
    from tunesmith.instruments import program_name

    found = _find_phrase(low, NON_GM_INSTRUMENTS)
    if found:
        name = found[0][1]
        near = ", ".join(program_name(p) for p in NON_GM_INSTRUMENTS[name])
        raise UnservableAsk(f"{name!r} is not a General MIDI instrument, so it cannot be played; "
                            f"nearest General MIDI sounds: {near} (ask for one by name)")


# ---- styles -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Label:
    field: str  # composer / collection / genre
    value: str  # the label as the model knows it
    phrases: tuple[str, ...]  # words that name it in a prompt
    description: str  # what it is, for matching by meaning


def known_labels(vocab: ControlVocab) -> list[Label]:
    labels = []
    for slug in vocab.composers:
        if slug in ("anonymous", "trad"):
            continue
        name = composer_phrase(slug).lower()
        phrases = {slug.replace("_", " "), name, name.split()[-1] if slug != "schumann_clara" else "clara schumann"}
        labels.append(Label("composer", slug, tuple(sorted(phrases)), f"music by the composer {composer_phrase(slug)}"))
    for coll in vocab.collections:
        words = COLLECTION_WORDS.get(coll, ())
        named = words + FORM_WORDS.get(coll, ())
        labels.append(Label("collection", coll, tuple(w for w in named if w not in ("chorale", "piano solo")),
                            f"{'an' if words[0][0] in 'aeiou' else 'a'} {words[0]}" if words
                            else f"music from the {coll} collection"))
    for genre in vocab.genres:  # and the title words filed under it ("ragtime" for "rag"; not "choral", which in
        #                             a prompt says "for choir")
        aliases = {w for w, g in TITLE_GENRES if g == genre} - set(vocab.genres) - {"choral"}
        labels.append(Label("genre", genre, tuple(sorted({genre, _plural(genre)} | aliases)), f"a {genre}"))
    return labels


def _plural(word: str) -> str:
    return word + ("es" if word.endswith(("s", "ch", "sh", "x")) else "s")


def styles_known(vocab: ControlVocab, meters: list[str]) -> str:
    """What a model can be asked for, as lines for the terminal (`tunesmith styles`): every composer,
    collection and genre with its training pieces and the words that name it, then the moods."""
    pieces = {(family, label): sum(tally.values())
              for family, table in vocab.instrumentation.items() for label, tally in table.items()}
    lines, labels = [], known_labels(vocab)
    for family in ("composer", "collection", "genre"):
        lines.append(f"{family}s:")
        for lab in sorted((lab for lab in labels if lab.field == family),
                          key=lambda lab: -pieces.get((family, lab.value), 0)):
            n = pieces.get((family, lab.value))
            said = ", ".join(f"'{p}'" for p in lab.phrases if p not in (lab.value, _plural(lab.value)))
            lines.append(f"  {lab.value:<18}{f'{n} pieces' if n else '':<13}{said}")
    lines.append("famous works it reads as their composer, on their instruments ('something like Für Elise'):")
    by_composer: dict[str, dict[str, str]] = {}
    for work, (slug, _) in FAMOUS_WORKS.items():  # one spelling of each ('für elise', not also 'fur elise')
        plain = re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", work).encode("ascii", "ignore").decode())
        by_composer.setdefault(slug, {}).setdefault(plain, work)
    lines += [f"  {slug:<31}{', '.join(repr(w) for w in works.values())}" for slug, works in by_composer.items()
              if any(lab.field == "composer" and lab.value == slug for lab in labels)]
    lines.append("moods (a tempo, and a mode when no key is asked):")
    lines += [f"  {mood:<31}{', '.join(words)}" for mood, words in MOODS.items()]
    played = pieces_per_program(vocab.instrumentation)
    rare = unlearned(tuple(played), vocab.instrumentation)
    learned = sorted((p for p in played if p != DRUMS and p not in rare), key=lambda p: -played[p])
    if learned:
        lines.append(f"instruments it writes for directly (any other is written for the style's own, else the "
                     f"{program_name(most_played(vocab.instrumentation))}, and voiced for it):")
        lines += [f"  {program_name(p):<31}{played[p]} pieces" for p in learned]
    text = "\n".join(textwrap.fill(line, 118, subsequent_indent=" " * 33) if line.startswith("  ") else line
                     for line in lines)
    return f"{text}\nmeters it can write:\n" + textwrap.fill(", ".join(meters), 118, initial_indent="  ",
                                                              subsequent_indent="  ")


def _styles(text: str, low: str, labels: list[Label], work: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """Styles named outright (a famous `work` names its composer): {field: label}, {field: how}. Raises
    UnservableAsk for a named composer or style (words.UNKNOWN_STYLES) the model has no pieces of."""
    found: dict[str, str] = {}
    how: dict[str, str] = {}
    phrase_to_label = {p: lab for lab in labels for p in lab.phrases}
    for _, phrase in _find_phrase(low, phrase_to_label):
        lab = phrase_to_label[phrase]
        if lab.field not in found:
            found[lab.field], how[lab.field] = lab.value, f"'{phrase}' in the prompt"
    if work and "composer" not in found:  # "something like Für Elise": Beethoven
        slug = FAMOUS_WORKS[work][0]
        if slug not in {lab.value for lab in labels if lab.field == "composer"}:
            raise UnservableAsk(f"'{work}' is by {composer_phrase(slug)}; "
                                + _unknown_style_message(composer_phrase(slug), labels))
        found["composer"], how["composer"] = slug, f"'{work}' in the prompt, by {composer_phrase(slug)}"
    unknown = _unknown_style(low, phrase_to_label)
    if unknown:
        raise UnservableAsk(_unknown_style_message(unknown, labels, composer=False, first=UNKNOWN_STYLES[unknown]))
    if "composer" not in found:
        asked = _asked_composer(text, low)
        known = {lab.value for lab in labels if lab.field == "composer"}
        if asked and asked.lower() in known:  # named inside another label's words ("a Bach chorale")
            found["composer"], how["composer"] = asked.lower(), f"'{asked}' in the prompt"
        elif asked:
            raise UnservableAsk(_unknown_style_message(asked, labels))
    return found, how


def _asked_composer(text: str, low: str) -> str | None:
    """A composer named after a style cue ('in the style of Gershwin', 'like Vivaldi'), or a famous name."""
    for name in FAMOUS_COMPOSERS:
        if re.search(rf"\b{name}\b", low):
            return name.title()
    m = re.search(rf"\b{STYLE_CUE}\s+((?:[A-Z][\w'.-]*\s?){{1,3}})", text)
    return m.group(1).strip() if m else None


def _unknown_style(low: str, known_phrases) -> str | None:
    """A style named in the prompt that the model has no pieces of ('a jazz ballad'), unless the words are
    one of its own labels or an ensemble that names instruments ('for jazz trio')."""
    taken = {(at, at + len(p)) for at, p in _find_phrase(low, set(known_phrases) | set(ENSEMBLES))}
    for at, word in _find_phrase(low, [w for w in UNKNOWN_STYLES if w not in known_phrases]):
        if not any(a <= at < b for a, b in taken):
            return word
    return None


def _unknown_style_message(asked: str, labels: list[Label], composer: bool = True, first: tuple[str, ...] = ()) -> str:
    """The refusal, naming the nearest styles the model knows: for a genre, the labels in `first` it has
    (UNKNOWN_STYLES: pop for rock), then the nearest by meaning."""
    if composer:
        near = nearest_labels(f"music by the composer {asked}", labels, 3, fields=("composer",))
        near += [n for n in nearest_labels(f"music by {asked}", labels, 3) if n not in near]
    else:  # a genre: among the genres and the collections people name (not a composer's own collection)
        named = [lab for lab in labels
                 if lab.field == "genre" or (lab.field == "collection" and lab.value in COLLECTION_WORDS)]
        near = [lab for value in first for lab in named if lab.value == value][:3]
        near += [n for n in nearest_labels(f"{asked} music", named, 3) if n not in near][: 3 - len(near)]
    names = [f"{lab.value} ({lab.field})" for lab in near[:4]]
    return (f"this model does not know the style {asked!r} (no training pieces carry it). "
            f"Nearest styles it knows: {', '.join(names)}. Ask for one of those (`tunesmith styles` lists all it "
            "knows), or leave the style out.")


def nearest_labels(text: str, labels: list[Label], n: int = 3, fields=None) -> list[Label]:
    from tunesmith.text import text_encoder

    pool = [lab for lab in labels if fields is None or lab.field in fields]
    if not pool:
        return []
    sims = text_encoder().similarity([text], [lab.description for lab in pool])[0]
    order = sims.argsort(descending=True).tolist()
    return [pool[i] for i in order[:n]]


def _style_by_meaning(text: str, labels: list[Label]) -> tuple[Label, float] | None:
    from tunesmith.text import text_encoder

    if not labels:
        return None
    sims = text_encoder().similarity([text], [lab.description for lab in labels])[0]
    best = int(sims.argmax())
    if sims[best] < STYLE_MATCH or sims[best] - _generic_likeness(text) < MEANING_MARGIN:
        return None
    return labels[best], float(sims[best])


def _generic_likeness(text: str) -> float:
    """How much a prompt reads like 'a piece of music' in general: a match by meaning must beat it."""
    from tunesmith.text import text_encoder

    return float(text_encoder().similarity([text], list(GENERIC))[0].max())


def _mood(low: str) -> tuple[str | None, str | None]:
    words = {w: mood for mood, ws in MOODS.items() for w in ws}
    found = _find_phrase(low, words)
    if found:
        return words[found[0][1]], f"the word '{found[0][1]}'"
    from tunesmith.text import text_encoder

    names = list(MOODS)
    sims = text_encoder().similarity([low], [f"{' and '.join(MOODS[m][:3])} music" for m in names])[0]
    best = int(sims.argmax())
    if sims[best] >= MOOD_MATCH and sims[best] - _generic_likeness(low) >= MEANING_MARGIN:
        return names[best], f"by meaning ({float(sims[best]):.2f})"
    return None, None


# ---- the reader ---------------------------------------------------------------------------------

def read_prompt(text: str, vocab: ControlVocab, meters: list[str] | None = None, use_meaning: bool = True) -> Reading:
    """Understand a prompt against the labels a model knows (`vocab`) and the meters it can write."""
    if not text or not text.strip():
        raise TunesmithError("the prompt is empty")
    asked, text = text.strip(), _words_to_numbers(text.strip())  # the words as typed; and with numbers as digits
    low = text.lower()
    how: dict[str, str] = {}
    labels = known_labels(vocab)

    key = _key(text)
    if key:
        how["key"] = f"'{key}' in the prompt"
    elif m := _CHURCH_MODE.search(text):  # "D dorian": the key on its tonic in the nearer of major and minor, said
        key = _key(f"in {m.group(1)}{m.group(2) or ''} {'minor' if m.group(3).lower() in _MINOR_MODES else 'major'}")
        how["key"] = f"'{m.group(0)}' in the prompt: {key}, the nearest key this model writes in (major or minor)"
    elif m := _TONIC.search(text):
        key = _key(f"in {m.group(1)}{m.group(2) or ''} major")
        how["key"] = f"'{m.group(0)}' in the prompt: {key} (a key named without its mode is major)"
    meter, dance = None, None
    m = _METER.search(low) or _METER_SPOKEN.search(low)
    if m:
        top, bottom = (g for g in m.groups() if g)
        meter = f"{SPOKEN_NUMBERS.get(top) or int(top)}/{SPOKEN_NUMBERS.get(bottom) or int(bottom)}"
        how["meter"] = f"'{m.group(0)}' in the prompt"
    else:
        found = _find_phrase(low, METER_WORDS)
        if found:
            dance = found[0]
            meter = METER_WORDS[dance[1]]
            how["meter"] = f"the words '{dance[1]}'"
    if meter and meters is not None and meter not in meters:
        raise UnservableAsk(f"meter {meter} is not one the model can write; it knows {', '.join(meters)}")
    tempo, tempo_how = _tempo(low)
    if tempo_how:
        how["tempo"] = tempo_how
    bars, seconds, length_how = _length(low)
    if length_how:
        how["length"] = length_how
    voices, voices_how, voices_at = _voices(low)
    if voices_how:
        how["voices"] = voices_how
    instruments, instr_how, instr_added = _instruments(low)
    sung_by_count = False  # only "two voices" named singers: "an invention for two voices" is for the piano
    if voices_at:  # "a chorale for strings in three voices": the voices count parts, and the strings play them
        named = _instruments(low[:voices_at[0]] + " " * (voices_at[1] - voices_at[0]) + low[voices_at[1]:])
        sung_by_count = not named[0]
        instruments, instr_how, instr_added = named if named[0] else (instruments, instr_how, instr_added)
    if instr_how:
        how["instruments"] = instr_how
    _unknown_instrument(low)

    work = next((phrase for _, phrase in _find_phrase(low, FAMOUS_WORKS)), None)
    styles, style_how = _styles(text, low, labels, work)
    how.update(style_how)
    form = _find_phrase(low, FORM_WORDS.get(styles.get("collection"), ()))
    if form and (not instruments or sung_by_count) and styles["collection"] in FORM_PROGRAMS:  # "a nocturne"
        instruments = FORM_PROGRAMS[styles["collection"]]
        how["instruments"] = f"the form '{form[0][1]}'"
    if work and not instruments and styles.get("composer") == FAMOUS_WORKS[work][0]:  # Für Elise: piano
        instruments = FAMOUS_WORKS[work][1]
        how["instruments"] = f"the work '{work}'"
    if not styles and use_meaning:  # a dance read as its meter is not matched again: "a habanera" is not a madrigal
        hit = _style_by_meaning(text[:dance[0]] + text[dance[0] + len(dance[1]):] if dance else text, labels)
        if hit:
            lab, sim = hit
            styles[lab.field] = lab.value
            how[lab.field] = f"by meaning: '{lab.description}' ({sim:.2f})"
    mood, mood_how = _mood(low) if use_meaning else (None, None)
    if mood_how:
        how["mood"] = mood_how
    if mood and tempo is None:
        tempo = float(MOOD_TEMPO[mood])
        how["tempo"] = f"the mood '{mood}'"
    if mood and (key or tempo):
        from tunesmith.words import mood_holds

        probe_key = key or (f"C {MOOD_MODE[mood]}" if MOOD_MODE[mood] else "C major")
        if not mood_holds(mood, probe_key, tempo or MOOD_TEMPO[mood]):
            how["mood"] += f" (it does not fit {key or ''} {f'{tempo:g} BPM' if tempo else ''}: those win)"

    controls = Controls(collection=styles.get("collection"), composer=styles.get("composer"),
                        genre=styles.get("genre"), key=key, meter=meter, tempo=tempo, instruments=instruments)
    if instr_added:  # "a pop song with drums": the song's own instruments, and drums
        own = usual_instruments(controls, vocab.instrumentation) or (PIANO,)
        controls = replace(controls, instruments=tuple(sorted(set(own) | set(instruments))))
        how["instruments"] += f", added to {_instrument_names(own)}"
    reading = Reading(text=asked, controls=controls, bars=bars, seconds=seconds, mood=mood, voices=voices, how=how)
    return reading


def settle_length(reading: Reading, default_bars: int = DEFAULT_BARS) -> Reading:
    """Bars from a length in seconds (needs a tempo and meter: 100 BPM and 4/4 are set when missing,
    and said so); the default length when nothing was asked."""
    c, how = reading.controls, dict(reading.how)
    if reading.bars:
        return reading
    if reading.seconds:
        if not c.tempo:
            c = replace(c, tempo=100.0)
            how["tempo"] = "set to 100 BPM to turn the length in seconds into bars"
        if not c.meter:
            c = replace(c, meter="4/4")
            how["meter"] = "set to 4/4 to turn the length in seconds into bars"
        num, den = (int(x) for x in c.meter.split("/"))
        bar_seconds = num * (4 / den) * 60 / c.tempo
        bars = max(1, round(reading.seconds / bar_seconds))
        how["length"] = how.get("length", "") + f" = {bars} bars of {bar_seconds:.2f} s"
        return replace(reading, controls=c, bars=bars, how=how)
    how["length"] = f"default ({default_bars} bars)"
    return replace(reading, bars=default_bars, how=how)


def preferred_mode(reading: Reading) -> str | None:
    """The mode a mood asks for when no key was given (checked on the output, not forced)."""
    return None if reading.controls.key or not reading.mood else MOOD_MODE[reading.mood]


def resolve_style(vocab: ControlVocab, style: str) -> dict[str, str]:
    """`--style chopin` -> {"composer": "chopin"}: a composer, collection or genre the model knows."""
    want = style.strip().lower()
    for fld, values in (("composer", vocab.composers), ("collection", vocab.collections), ("genre", vocab.genres)):
        for value in values:
            if value.lower() == want:
                return {fld: value}
    labels = known_labels(vocab)
    phrase_to_label = {p: lab for lab in labels for p in lab.phrases}
    if want in phrase_to_label:
        lab = phrase_to_label[want]
        return {lab.field: lab.value}
    raise UnservableAsk(_unknown_style_message(style, labels))


OVERRIDABLE = ("collection", "composer", "genre", "key", "meter", "tempo", "instruments")


def understand(text: str | None, vocab: ControlVocab, meters: list[str], style: str | None = None,
               bars: int | None = None, seconds: float | None = None, mood: str | None = None,
               default_bars: int | None = DEFAULT_BARS, voices: int | None = None, **controls) -> Reading:
    """The prompt's reading (if any) with explicit settings on top: a flag always wins over the words.

    `controls` are Controls fields (composer=..., key=..., tempo=...; None = not set)."""
    reading = read_prompt(text, vocab, meters) if text and text.strip() else Reading(text=text or "")
    fixed: dict = {}
    if style:
        fixed.update(resolve_style(vocab, style))
    fixed.update({k: v for k, v in controls.items() if k in OVERRIDABLE and v is not None})
    unknown = set(controls) - set(OVERRIDABLE)
    if unknown:
        raise TypeError(f"unknown control(s): {', '.join(sorted(unknown))}")
    if fixed.get("key"):
        fixed["key"] = ops.normalize_key(fixed["key"])
    if fixed.get("meter") and fixed["meter"] not in meters:
        raise UnservableAsk(f"meter {fixed['meter']} is not one the model can write; it knows {', '.join(meters)}")
    how = dict(reading.how)
    for name in fixed:
        how[name] = "set by you"
    if mood:
        if mood not in MOODS:
            raise UnservableAsk(f"unknown mood {mood!r}; choose one of {', '.join(MOODS)}")
        how["mood"] = "set by you"
    if voices is not None:
        _servable_voices(voices)
        how["voices"] = "set by you"
    reading = replace(reading, controls=replace(reading.controls, **fixed), mood=mood or reading.mood,
                      voices=voices or reading.voices, how=how)
    named = _MODE_ASKED.search(text or "")  # "in a minor key": the mode, whatever the mood says
    mode = named.group(1).lower() if named else reading.mood and MOOD_MODE[reading.mood]
    if mode and not reading.controls.key:  # a mode needs a key to steer towards: pick a common one, say so
        common = COMMON_TONICS[mode]
        tonic = common[sum(map(ord, text or "")) % len(common)]
        reading = replace(reading, controls=replace(reading.controls, key=f"{tonic} {mode}"))
        how["key"] = (f"chosen for '{named.group(0).strip()}' in the prompt (--key to choose)" if named else
                      f"chosen for the mood '{reading.mood}' (a {mode} key; --key to choose)")
    if reading.mood and reading.controls.tempo is None:
        reading = replace(reading, controls=replace(reading.controls, tempo=float(MOOD_TEMPO[reading.mood])))
        how["tempo"] = f"the mood '{reading.mood}'"
    if bars is not None or seconds is not None:
        reading = replace(reading, bars=bars, seconds=seconds if bars is None else None)
        how["length"] = "set by you"
    if reading.bars or reading.seconds or default_bars:
        reading = settle_length(reading, default_bars or DEFAULT_BARS)
    return reading
