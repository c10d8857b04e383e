"""Classifier-free guidance towards the style asked for.

Training leaves out each control family (25%) and the caption (30%) independently, so one model
knows both p(next | style, the rest) and p(next | the rest). Guidance decodes from

    log p_guided = log p_uncond + g * (log p_cond - log p_uncond)        (Ho & Salimans 2022)

where the unconditional prompt is the same prompt without its style (collection, composer, genre
and the sentence) but with the same key, meter, tempo and instruments, so only the style is pushed
harder; g = 1 is plain conditioning. The unconditional branch keeps its own KV cache.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from transformers import LogitsProcessor

from tunesmith.tokenizer import Controls


def without_style(controls: Controls) -> Controls:
    """The controls a style-free prompt keeps: everything but collection, composer and genre."""
    return replace(controls, collection=None, composer=None, genre=None)


def has_style(controls: Controls, text: bool) -> bool:
    return bool(text or controls.collection or controls.composer or controls.genre)


class StyleGuidance(LogitsProcessor):
    """Scores of the conditional model (HF generate's rows) pushed away from those of `model` reading
    `unconditional` (the window's style-free prefix) followed by the tokens generated after the
    conditional window's first `n_window` tokens. Put it before the grammar mask: masked tokens stay
    masked since the mask comes after."""

    def __init__(self, model, unconditional: list[int], n_window: int, scale: float):
        self.model, self.scale, self.n_window = model, scale, n_window
        self.prefix = torch.tensor([unconditional], dtype=torch.long)  # (1, L)
        self.cache, self.fed = None, 0

    @torch.no_grad()
    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.scale == 1.0:
            return scores
        new = input_ids[:, self.n_window:]  # (R, n) generated so far in this window
        prefix = self.prefix.to(input_ids.device)
        if input_ids.size(0) == 1:  # sampling / greedy: one row, cached
            ids = torch.cat([prefix, new], 1) if self.cache is None else new[:, self.fed:]
            out = self.model(input_ids=ids, cache=self.cache, use_cache=True)
            self.cache, self.fed = out.cache, new.size(1)
        else:  # beam search reorders rows between steps: read every row's style-free prefix again
            out = self.model(input_ids=torch.cat([prefix.expand(new.size(0), -1), new], 1), use_cache=False)
        uncond = torch.log_softmax(out.logits[:, -1].float(), -1)  # (R, V)
        cond = torch.log_softmax(scores.float(), -1)
        return (uncond + self.scale * (cond - uncond)).to(scores.dtype)
