"""Training captions say a piece's metadata in words the prompt reader understands."""

import random

from tunesmith.captions import caption
from tunesmith.prompt import read_prompt
from tunesmith.tokenizer import Controls, ControlVocab, Tokenizer

VOCAB = ControlVocab(["bach", "oneills1850"], ["bach", "chopin"], ["chorale", "reel"])
PIECES = [Controls(collection="bach", composer="bach", genre="chorale", key="F# minor", meter="4/4", tempo=66,
                   instruments=(52,)),
          Controls(collection="oneills1850", composer="trad", genre="reel", key="D major", meter="2/2", tempo=150,
                   instruments=(40,)),
          Controls(composer="chopin", key="Ab major", meter="3/4", tempo=84, instruments=(0,))]


def test_captions_vary_and_read_back():
    rng = random.Random(0)
    meters = Tokenizer(VOCAB).meters
    for c in PIECES:
        texts = {caption(c, rng, drop=0.0) for _ in range(30)}
        assert len(texts) > 15  # varied phrasing
        for text in texts:
            r = read_prompt(text, VOCAB, meters, use_meaning=False)
            assert r.controls.key == c.key and r.controls.meter == c.meter, text
            assert r.controls.instruments and set(r.controls.instruments) == set(c.instruments), text


def test_caption_dropout_leaves_attributes_out():
    rng = random.Random(1)
    full = PIECES[0]
    lengths = [len(caption(full, rng, drop=0.9)) for _ in range(50)]
    assert min(lengths) < 20 and max(lengths) > 20
