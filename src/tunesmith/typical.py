"""What a style usually is: the meter, tempo and instruments of its training pieces, for the ones a user did not ask.

Asked "a piano piece in the style of Chopin", the model is free to open with any meter and tempo, and a
small model picks them loosely: 4/8 at 222 BPM in 3 of 10 samples, a meter 2 of piano-midi.de's 261
training pieces have and none of Chopin's. Instead, the meter and tempo of one of the style's own
training pieces are drawn (the genre's pieces, else the composer's, else the collection's), and the
decoding constraints then hold the piece to them like any asked control. The table is
ControlVocab.meter_tempo, tallied from the training pieces when the dataset is built.

When instruments are asked, the pieces are first those the style played on them (ControlVocab.meter_tempo_on):
"a piano piece in the style of Mozart" takes the tempo of one of his 16 piano pieces, not the 40 BPM of
a string quartet's slow movement among his 29. When no instrument is asked, the piece drawn brings its
instruments too (ControlVocab.meter_tempo_on again): "a chanson in the style of Josquin" is sung, as his
8 training pieces are, where the model left to itself wrote one line on the piano.
"""

from __future__ import annotations

import random
from dataclasses import replace

from tunesmith.tokenizer import REMI_PARAMS, ControlVocab, Controls, played_on
from tunesmith.words import ensemble_phrase

MIN_PIECES = 5  # a label with fewer training pieces says too little about its meters and tempos
MIN_SHARE = 0.05  # a meter in fewer than this share of the style's pieces is never drawn (Chopin's one 2/8)
STYLE_ORDER = ("genre", "composer", "collection")  # a genre says most about meter (a minuet is in 3/4 whoever
#                                                    wrote it), then the composer, then the collection
TEMPO_RANGE = REMI_PARAMS["tempo_range"]  # a piece outside it (17 of 14,237: Beethoven's one at 20 BPM) is never drawn


Pieces = list[tuple[tuple[int, ...] | None, str, float, int]]  # (programs, meter, BPM, pieces) rows of a style's table


def style_pieces(controls: Controls, vocab: ControlVocab, instruments: bool = False) -> tuple[str, Pieces] | None:
    """(label as reports name it, its pieces) for the most specific style asked that has MIN_PIECES: in
    STYLE_ORDER, the style's pieces on the asked instruments ("mozart solo piano"), else all of its pieces.
    With `instruments` (none asked), each row keeps the programs its pieces were played on."""
    for family in STYLE_ORDER:
        label, played = getattr(controls, family), vocab.meter_tempo_on.get(family, {})
        if not label:
            continue
        if controls.instruments:
            table = played.get(played_on(label, controls.instruments), {})
            if sum(table.values()) >= MIN_PIECES:
                return f"{label} {ensemble_phrase(controls.instruments)}", _rows(table, controls.instruments)
        elif instruments:  # every instrumentation the style was played on ("josquin|52"; "josquin|" has none)
            rows = [r for key, table in played.items() if key.startswith(f"{label}|") and key != f"{label}|"
                    for r in _rows(table, tuple(int(p) for p in key[len(label) + 1:].split(",")))]
            if sum(n for *_, n in rows) >= MIN_PIECES:
                return label, rows
        table = vocab.meter_tempo.get(family, {}).get(label, {})
        if sum(table.values()) >= MIN_PIECES:
            return label, _rows(table, controls.instruments)
    return None


def _rows(table: dict[str, int], programs: tuple[int, ...] | None) -> Pieces:
    """{"3/4 120": pieces} as rows (programs, "3/4", 120.0, pieces), tempos outside TEMPO_RANGE left out."""
    rows = [(programs, k.split(" ")[0], float(k.split(" ")[1]), n) for k, n in table.items()]
    return [r for r in rows if TEMPO_RANGE[0] <= r[2] <= TEMPO_RANGE[1]]


def typical_controls(controls: Controls, vocab: ControlVocab, seed: int, meters: list[str],
                     tempo: bool = True) -> tuple[Controls, dict[str, str]]:
    """`controls` with an unasked meter, tempo (unless `tempo` is False) and instruments taken together
    from one of the asked style's training pieces, drawn with `seed`; and for each control filled, where
    it came from. `meters`: the meters the tokenizer can write. Controls asked are kept as they are."""
    fill_meter, fill_tempo, fill_programs = controls.meter is None, controls.tempo is None and tempo, \
        controls.instruments is None
    found = style_pieces(controls, vocab, instruments=fill_programs) if fill_meter or fill_tempo or fill_programs \
        else None
    if not found:
        return controls, {}
    label, rows = found
    total = sum(n for *_, n in rows)
    by_meter: dict[str, int] = {}
    for _, m, _, n in rows:
        by_meter[m] = by_meter.get(m, 0) + n
    usual = {m for m, n in by_meter.items() if n >= MIN_SHARE * total and m in meters}
    pool = [r for r in rows if (r[1] == controls.meter if not fill_meter else r[1] in usual)]
    if not pool:  # an asked meter this style never had: its tempo is still the style's
        pool = [r for r in rows if r[1] in usual]
    if not pool:
        return controls, {}
    # a string seed is hashed (SHA-512): Random(3) and Random(4) open with nearly the same number (0.238, 0.236),
    # so samples 3 and 4 of one ask drew the same piece's meter and tempo
    programs, meter, bpm, _ = random.Random(f"typical {seed}").choices(pool, weights=[n for *_, n in pool])[0]
    chosen, why = {}, {}
    if fill_meter:
        chosen["meter"] = meter
        why["meter"] = f"{meter} in {by_meter[meter]} of {total} {label} training pieces"
    if fill_tempo:
        chosen["tempo"] = bpm
        why["tempo"] = f"the tempo of a {label} training piece in {meter}"
    if fill_programs and programs:
        chosen["instruments"] = programs
        on = sum(n for p, *_, n in rows if p == programs)
        why["instruments"] = f"{ensemble_phrase(programs)} in {on} of {total} {label} training pieces"
    return replace(controls, **chosen), why
