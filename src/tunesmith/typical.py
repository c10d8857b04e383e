"""What a style usually is: the meter, tempo and key of its training pieces, for the ones a user did not ask.

Asked "a piano piece in the style of Chopin", the model is free to open with any meter, tempo and key, and
a small model picks them loosely: 4/8 at 222 BPM in 3 of 10 samples, a meter 2 of piano-midi.de's 261
training pieces have and none of Chopin's. Instead, the meter, tempo and key of one of the style's own
training pieces are drawn together (the genre's pieces, else the composer's, else the collection's), and
generation then holds the piece to them like any asked control: the decoding constraints for meter and
tempo, the key pull and reranking for the key. The table is ControlVocab.openings, tallied from the
training pieces when the dataset is built.
"""

from __future__ import annotations

import random
from dataclasses import replace

from tunesmith.tokenizer import REMI_PARAMS, ControlVocab, Controls, style_tally

MIN_PIECES = 5  # a label with fewer training pieces says too little about its meters and tempos
MIN_SHARE = 0.05  # a meter in fewer than this share of the style's pieces is never drawn (Chopin's one 2/8)
STYLE_ORDER = ("genre", "composer", "collection")  # a genre says most about meter (a minuet is in 3/4 whoever
#                                                    wrote it), then the composer, then the collection
TEMPO_RANGE = REMI_PARAMS["tempo_range"]  # a piece outside it (17 of 14,237: Beethoven's one at 20 BPM) is never drawn


def style_pieces(controls: Controls, vocab: ControlVocab) -> tuple[str, str, dict[str, int]] | None:
    """(family, label, {"3/4 120 D minor": pieces}) of the most specific style asked with enough pieces."""
    return style_tally(vocab.openings, controls, STYLE_ORDER, MIN_PIECES)


def parse_opening(entry: str) -> tuple[str, float, str | None]:
    """"3/4 120 D minor" -> ("3/4", 120.0, "D minor"); a table from before keys were tallied has no key."""
    parts = entry.split(" ", 2)
    return parts[0], float(parts[1]), (parts[2] if len(parts) > 2 else None)


def typical_controls(controls: Controls, vocab: ControlVocab, seed: int, meters: list[str],
                     tempo: bool = True, key: bool = True) -> tuple[Controls, dict[str, str]]:
    """`controls` with an unasked meter, tempo (unless `tempo` is False) and key (unless `key` is False)
    taken from one of the asked style's training pieces, drawn with `seed`; and for each control filled,
    where it came from. `meters`: the meters the tokenizer can write. Controls asked are kept as they are."""
    fill = {"meter": controls.meter is None, "tempo": controls.tempo is None and tempo,
            "key": controls.key is None and key}
    found = style_pieces(controls, vocab) if any(fill.values()) else None
    if not found:
        return controls, {}
    _, label, table = found
    pieces = [(*parse_opening(k), n) for k, n in table.items()]
    pieces = [p for p in pieces if TEMPO_RANGE[0] <= p[1] <= TEMPO_RANGE[1]]
    total = sum(p[-1] for p in pieces)
    by_meter: dict[str, int] = {}
    for m, *_, n in pieces:
        by_meter[m] = by_meter.get(m, 0) + n
    usual = {m for m, n in by_meter.items() if n >= MIN_SHARE * total and m in meters}
    pool = [p for p in pieces if (p[0] == controls.meter if not fill["meter"] else p[0] in usual)]
    if not pool:  # an asked meter this style never had: its tempo and key are still the style's
        pool = [p for p in pieces if p[0] in usual]
    if not pool:
        return controls, {}
    meter, bpm, drawn_key, _ = random.Random(seed).choices(pool, weights=[p[-1] for p in pool])[0]
    chosen, why = {}, {}
    if fill["meter"]:
        chosen["meter"] = meter
        why["meter"] = f"{meter} in {by_meter[meter]} of {total} {label} training pieces"
    if fill["tempo"]:
        chosen["tempo"] = bpm
        why["tempo"] = f"the tempo of a {label} training piece in {meter}"
    if fill["key"] and drawn_key:
        in_key = sum(p[-1] for p in pieces if p[2] == drawn_key)
        chosen["key"] = drawn_key
        why["key"] = f"the key of a {label} training piece in {meter} ({drawn_key} in {in_key} of {total})"
    return replace(controls, **chosen), why
