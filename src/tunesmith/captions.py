"""Training captions: a piece's metadata said in varied words, as a user might ask for it.

    caption(Controls(genre="chorale", key="D minor", tempo=66, instruments=(52,)), rng)
    -> "write a sad, slow chorale in D minor for choir"   (one of many phrasings)

Each attribute is left out with probability `drop`, so the model learns from partial descriptions;
the mood word comes from the key and tempo (tunesmith.words.mood_of).
"""

from __future__ import annotations

import random

from tunesmith.tokenizer import Controls
from tunesmith.words import (COLLECTION_WORDS, MOODS, TEMPO_WORDS, composer_phrase, ensemble_phrase, mood_of,
                             tempo_word)

OPENERS = ("", "", "compose ", "write ", "generate ", "create ", "make ", "give me ", "I want ", "play ",
           "please compose ", "can you write ")
NOUNS = ("piece", "piece", "tune", "composition", "song", "work", "melody")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def caption(c: Controls, rng: random.Random, drop: float = 0.3) -> str:
    """One random phrasing of (a random subset of) the controls."""
    keep = lambda v: v if v and rng.random() >= drop else None  # noqa: E731
    mood = keep(mood_of(c.key, c.tempo))
    genre, collection, composer = keep(c.genre), keep(c.collection), keep(c.composer)
    key, meter, tempo, instruments = keep(c.key), keep(c.meter), keep(c.tempo), keep(c.instruments)

    adjectives = []
    if mood:
        adjectives.append(rng.choice(MOODS[mood]))
    tempo_phrase = None
    if tempo:
        style = rng.random()
        if style < 0.45:
            adjectives.append(tempo_word(tempo))
        elif style < 0.6:
            near = min(TEMPO_WORDS, key=lambda w: abs(TEMPO_WORDS[w] - tempo) + rng.random() * 8)
            adjectives.append(near)
        else:
            tempo_phrase = rng.choice(("at {} BPM", "at {} bpm", "{} BPM", "at a tempo of {}", "tempo {}")).format(
                int(round(tempo)))
    if key and rng.random() < 0.3:
        adjectives.append(key)
        key = None
    if collection and collection in COLLECTION_WORDS and (not genre or rng.random() < 0.5):
        noun = rng.choice(COLLECTION_WORDS[collection])
    elif genre:
        noun = genre
    else:
        noun = rng.choice(NOUNS)
    phrases = []
    if composer and composer not in ("trad", "anonymous"):
        name = composer_phrase(composer)
        phrases.append(rng.choice(("in the style of {}", "by {}", "like {}", "inspired by {}", "after {}",
                                   "as {} would write it")).format(name))
    elif composer == "trad":
        adjectives.append("traditional")
    if key:
        phrases.append(rng.choice(("in {}", "in the key of {}", "key of {}")).format(key))
    if meter:
        phrases.append(rng.choice(("in {}", "in {} time", "{} meter", "with a {} time signature")).format(meter))
    if tempo_phrase:
        phrases.append(tempo_phrase)
    if instruments:
        phrases.append(rng.choice(("for {}", "for {}", "played on {}", "scored for {}")).format(
            ensemble_phrase(tuple(instruments))))
    rng.shuffle(phrases)
    if adjectives and rng.random() < 0.5:
        head = " ".join(adjectives) + " " + noun
    else:
        head = ", ".join(adjectives) + (" " if adjectives else "") + noun
    text = rng.choice(OPENERS) + _article(head) + " " + head
    if phrases:
        text += " " + rng.choice((" ", ", ")).join(phrases) if len(phrases) > 1 else " " + phrases[0]
    return text.strip()
