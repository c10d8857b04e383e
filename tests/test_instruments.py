"""Instrument names <-> GM programs, and voicing a style for an instrument it never had in training."""

import pytest

from tunesmith.errors import TunesmithError
from tunesmith.instruments import DRUMS, native_voicing, parse_instruments, program_name
from tunesmith.tokenizer import Controls

PLAYED = {"collection": {"oneills1850": {"0": 1736}, "bach": {"52": 338, "0,52": 31},
                         "quartets": {"40,41,42": 16}},
          "composer": {"beethoven": {"0": 25, "40,41,42": 16}}}


def test_names_and_programs():
    assert parse_instruments("piano, fiddle, drums") == (DRUMS, 0, 110)  # sorted
    assert program_name(110).lower() == "fiddle"
    with pytest.raises(TunesmithError):
        parse_instruments("theremin")


@pytest.mark.parametrize("controls, written", [
    (Controls(collection="oneills1850", instruments=(110,)), (0,)),  # Irish tunes were melodies read as piano
    (Controls(collection="bach", instruments=(19,)), (52,)),  # a chorale for organ: written for the choir
    (Controls(collection="bach", instruments=(0,)), None),  # piano did occur with the chorales
    (Controls(collection="oneills1850", instruments=(0,)), None),  # the style's own instrument
    (Controls(collection="quartets", instruments=(0,)), None),  # the usual is an ensemble: no one part to take
    (Controls(composer="beethoven", collection="oneills1850", instruments=(40,)), None),  # the composer decides
    (Controls(collection="oneills1850", instruments=(110, 0)), None),  # several instruments: as asked
    (Controls(collection="oneills1850", instruments=(DRUMS,)), None),
    (Controls(collection="unknown", instruments=(110,)), None),
    (Controls(instruments=(110,)), None),
])
def test_native_voicing(controls, written):
    assert native_voicing(controls, PLAYED) == written
    assert native_voicing(controls, {}) is None  # a model saved without the table: always as asked
