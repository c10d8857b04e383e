"""Shared fixtures: real music from the music21 bundled corpus, a small dataset and a tiny trained model."""

from __future__ import annotations

import os
import tempfile

import pytest
import symusic
from music21 import corpus, midi

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# keep the tests' caches (pieces, fixed SoundFonts) out of the user's ~/.cache
_CACHE = tempfile.mkdtemp(prefix="tunesmith-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE
os.environ["TUNESMITH_CACHE"] = _CACHE


def corpus_score(name: str) -> symusic.Score:
    """A piece of the music21 bundled corpus as a symusic Score (the path the package itself uses)."""
    s = corpus.parse(name)
    return symusic.Score.from_midi(midi.translate.music21ObjectToMidiFile(s).writestr())


@pytest.fixture(scope="session")
def chorale() -> symusic.Score:
    return corpus_score("bach/bwv66.6")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def chorale_dataset(tmp_path_factory, cache_dir):
    """40 files of the bundled Bach collection, built by the real builder."""
    from tunesmith.data.build import build_dataset

    out = tmp_path_factory.mktemp("data") / "bach"
    build_dataset(["music21:bach"], out, limit=40, workers=2, cache_dir=cache_dir, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, chorale_dataset):
    """A tiny model trained for a few seconds on the chorale dataset (output folder of `train`)."""
    from tunesmith.train import TrainConfig, train

    out = tmp_path_factory.mktemp("runs") / "tiny"
    cfg = TrainConfig(preset="tiny", max_steps=80, batch_size=8, lr=3e-3, warmup_steps=10, eval_every=40,
                      log_every=10, max_len=384)
    summary = train(chorale_dataset, out, cfg, progress=False)
    return out, summary


@pytest.fixture(scope="session")
def random_model():
    """An untrained tiny model: the hardest case for constrained decoding (it has no idea of the grammar)."""
    import torch

    from tunesmith.generate import Model
    from tunesmith.model import build_model, preset
    from tunesmith.tokenizer import ControlVocab, Tokenizer

    tok = Tokenizer(ControlVocab(["bach"], ["bach"], ["chorale"]))
    cfg = preset("tiny", vocab_size=tok.vocab_size)
    torch.manual_seed(0)
    return Model(build_model(cfg, tok.pad_id, tok.bos_id, tok.eos_id), tok, cfg)
