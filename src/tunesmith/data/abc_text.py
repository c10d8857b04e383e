"""ABC files read as text, before music21 parses them: the tunes of a file and their header fields.

A file holds tunes, each starting at an X: line; the lines before the first X: are the file header
(music21 prepends it to every tune). Some files are part-books: music21's Josquin chansons keep each
voice as a tune of its own, with the work's title and the voice's name ("Tenor", "Bassus") as a second
T: line. `same_work_voices` tells those apart from collections of tunes, which load.load_abc then reads
as one piece with a part per voice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

_TUNE_START = re.compile(r"^X:\s*(\d*)", re.MULTILINE)
_FIELD = re.compile(r"^([A-Za-z]):(.*)$")
_TITLE = re.compile(r"^\s*T:(.*)$", re.MULTILINE)


@dataclass
class AbcTune:
    """One tune of an ABC file: its X: number (None if absent), its text and its header fields."""

    number: int | None
    text: str
    fields: dict[str, str]  # the first value of each field letter, up to the K: line
    titles: tuple[str, ...] = ()  # every T: line of the tune, in order (header and body)


def abc_header_fields(text: str) -> dict[str, str]:
    """Header fields of a tune (the first value of each field letter), up to its K: line."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        m = _FIELD.match(line.strip())
        if m:
            fields.setdefault(m.group(1), m.group(2).strip())
            if m.group(1) == "K":
                break
    return fields


def _tune(number: int | None, text: str) -> AbcTune:
    titles = tuple(m.group(1).strip() for m in _TITLE.finditer(text))  # a voice's name may follow the K: line
    return AbcTune(number, text, abc_header_fields(text), titles)


def split_abc_tunes(text: str) -> tuple[str, list[AbcTune]]:
    """(file header, tunes) of an ABC text; tunes start at X: lines. No X: line → one tune, no header."""
    starts = list(_TUNE_START.finditer(text))
    if not starts:
        return "", [_tune(None, text)]
    tunes = []
    for i, m in enumerate(starts):
        body = text[m.start(): starts[i + 1].start() if i + 1 < len(starts) else len(text)]
        tunes.append(_tune(int(m.group(1)) if m.group(1) else None, body))
    return text[: starts[0].start()], tunes


def same_work_voices(tunes: list[AbcTune], names_a_voice: Callable[[str], bool]) -> bool:
    """Whether an ABC file's tunes are the voices of one work: at least two, one title and one meter
    for all, and a second title naming a voice part ("Tenor", "Bassus") on some. Variants of one folk
    song under one title (Essen's ballads) name no voice and change meter, so they stay tunes."""
    if len(tunes) < 2:
        return False
    if len({t.titles[0].casefold() if t.titles else None for t in tunes}) != 1 or tunes[0].titles == ():
        return False
    if len({t.fields.get("M", "").replace(" ", "") for t in tunes}) != 1:
        return False
    return any(names_a_voice(title) for t in tunes for title in t.titles[1:])
