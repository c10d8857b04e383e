"""General MIDI instrument names <-> program numbers (-1 = drums)."""

from __future__ import annotations

import difflib
import re

from pretty_midi.constants import INSTRUMENT_MAP

from tunesmith.errors import TunesmithError

DRUMS = -1

# Everyday names a musician types, beside the 128 official GM names.
COMMON_NAMES: dict[str, int] = {
    "piano": 0, "grand piano": 0, "harpsichord": 6, "celesta": 8, "vibraphone": 11, "marimba": 12,
    "organ": 19, "church organ": 19, "accordion": 21, "harmonica": 22,
    "guitar": 24, "nylon guitar": 24, "acoustic guitar": 25, "electric guitar": 27,
    "bass": 32, "electric bass": 33, "double bass": 43,
    "violin": 40, "viola": 41, "cello": 42, "contrabass": 43, "harp": 46, "timpani": 47,
    "strings": 48, "string ensemble": 48, "choir": 52, "voice": 52, "voices": 52, "vocals": 52,
    "trumpet": 56, "trombone": 57, "tuba": 58, "horn": 60, "french horn": 60, "brass": 61,
    "saxophone": 65, "sax": 65, "oboe": 68, "english horn": 69, "bassoon": 70, "clarinet": 71,
    "piccolo": 72, "flute": 73, "recorder": 74, "pan flute": 75, "bagpipe": 109, "fiddle": 110,
    "drums": DRUMS, "drum kit": DRUMS, "percussion": DRUMS,
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


NAME_TO_PROGRAM: dict[str, int] = {_norm(n): i for i, n in enumerate(INSTRUMENT_MAP)}
NAME_TO_PROGRAM.update({_norm(n): p for n, p in COMMON_NAMES.items()})


def program_name(program: int) -> str:
    return "Drums" if program == DRUMS else INSTRUMENT_MAP[program]


def parse_instrument(text: str) -> int:
    """'violin', 'Acoustic Grand Piano', '41', 'drums' -> GM program (0-127, -1 for drums)."""
    key = _norm(text)
    if re.fullmatch(r"-?\d+", key.replace(" ", "")) or text.strip().lstrip("-").isdigit():
        p = int(text.strip())
        if p == DRUMS or 0 <= p <= 127:
            return p
        raise TunesmithError(f"instrument number {p} is outside General MIDI (0-127, or -1 for drums)")
    if key in NAME_TO_PROGRAM:
        return NAME_TO_PROGRAM[key]
    near = difflib.get_close_matches(key, list(NAME_TO_PROGRAM), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise TunesmithError(f"unknown instrument {text!r} (not a General MIDI name or number){hint}")


def parse_instruments(text: str) -> tuple[int, ...]:
    """'piano,violin' -> (0, 40)."""
    return tuple(sorted({parse_instrument(part) for part in text.split(",") if part.strip()}))


def native_voicing(controls, instrumentation: dict) -> tuple[int, ...] | None:
    """The single instrument a style was written for in training, when the single instrument asked
    was never part of that style there; None when the ask is in the style's own range (or unknown).

    Example: the Irish tunes of the corpus are melodies with no instrument, read as piano (program 0);
    asked "for fiddle", the model writes the tune as the piano melody it learned and the output is
    voiced for the fiddle, instead of conditioning on a pairing it never saw. `controls` is a
    tokenizer.Controls; `instrumentation` is ControlVocab.instrumentation.
    """
    asked = controls.instruments
    if not asked or len(asked) != 1 or asked[0] == DRUMS:
        return None
    for family, label in (("composer", controls.composer), ("collection", controls.collection)):
        played = instrumentation.get(family, {}).get(label) if label else None
        if not played:
            continue
        programs = {int(p) for key in played for p in key.split(",")}
        usual = max(played, key=played.get)
        if asked[0] in programs or "," in usual:
            return None
        return (int(usual),)
    return None
