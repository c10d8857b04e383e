"""Distillation for the JSB benchmark: one model trained on the averaged predictions of several.

The teacher is one or more saved benchmark models, each reading every training piece transposed by
-k..+k semitones; their predicted distributions over the next token, mapped back to the piece's own
pitches and averaged, give every token of every training piece a full distribution (the ensemble
that `tunesmith bench jsb --model A B --eval-transpositions k` scores). The student trains on random
windows of the training pieces as usual, but against that distribution (cross-entropy with soft
targets, shifted with the window's random transposition) instead of the one token that followed.

The student is one model, scored in one pass like any other. The teacher only ever reads the
training split: the evaluation split never enters its targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tunesmith.evaluate.jsb import (PITCH0, VOCAB_SIZE, VOICES, JsbConfig, _check_transpositions, _nll,
                                    load_jsb_model, serialise, window_logprobs)


def shift_pitch_columns(probs: torch.Tensor, shift: int) -> torch.Tensor:
    """(..., V) distribution over the tokens of a piece, moved with the piece by `shift` semitones: pitch
    token PITCH0 + p's mass goes to PITCH0 + p + shift (dropped past the MIDI range); REST and the special
    tokens keep theirs."""
    if shift == 0:
        return probs
    out = torch.zeros_like(probs)
    out[..., :PITCH0] = probs[..., :PITCH0]
    if shift > 0:
        out[..., PITCH0 + shift:] = probs[..., PITCH0: probs.size(-1) - shift]
    else:
        out[..., PITCH0: probs.size(-1) + shift] = probs[..., PITCH0 - shift:]
    return out


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over scored positions of -sum_v q(v) log p(v), where position t of `logits` (B, T, V) predicts
    token t + 1 and `targets` (B, T - 1, V) holds q; rows of zeros (padding) are not scored. With one-hot
    targets it is the usual next-token cross-entropy."""
    logp = torch.log_softmax(logits[:, :-1].float(), -1)
    per_position = -(targets * logp).sum(-1)  # (B, T - 1)
    scored = targets.sum(-1) > 0
    return per_position[scored].mean()


@torch.no_grad()
def teacher_distributions(members: list[tuple[torch.nn.Module, JsbConfig]], pieces: list[np.ndarray],
                          transpositions: int = 0, batch_size: int = 8, progress: bool = False) -> list[torch.Tensor]:
    """Per piece, (tokens, V) probabilities of every token: the members' predictions, each over the piece
    transposed by -k..+k and mapped back to its own pitches, averaged (rows renormalised for the little
    mass that a transposition pushes past the MIDI range)."""
    _check_transpositions(pieces, transpositions)
    sums = [torch.zeros(len(p) * VOICES, VOCAB_SIZE) for p in pieces]
    for model, cfg in members:
        for d in range(-transpositions, transpositions + 1):
            for k, first, end, logp in window_logprobs(model, pieces, cfg, d, batch_size, progress):
                sums[k][first:end] += shift_pitch_columns(logp.exp(), -d)
    return [s / s.sum(-1, keepdim=True) for s in sums]


@dataclass
class Teacher:
    """Targets for training on `pieces` (the training split, in its order): teacher_distributions of them."""

    targets: list[torch.Tensor]  # per training piece, (tokens, V) probabilities in the piece's own key
    models: list[str]  # the saved models averaged
    transpositions: int  # each read over -k..+k
    temperature: float = 1.0  # targets softened to q^(1/T), renormalised (the teacher knows these pieces)

    def window_targets(self, piece: int, start_step: int, tokens: int, shift: int) -> torch.Tensor:
        """(tokens, V) targets for the window of `piece` from time step `start_step`, transposed by `shift`."""
        rows = self.targets[piece][VOICES * start_step: VOICES * start_step + tokens]
        return shift_pitch_columns(rows, shift)

    def loss(self, model, batch: dict[str, torch.Tensor], where: dict[str, torch.Tensor]) -> torch.Tensor:
        """Soft cross-entropy of `model` on a training_batch (its `piece_index` and `shift` in `where`)."""
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       step_offset=batch["step_offset"]).logits  # (B, T, V)
        targets = torch.zeros(logits.size(0), logits.size(1) - 1, logits.size(2))
        music = batch["attention_mask"].sum(1).cpu() - 1  # tokens after BOS in each window
        for row, (piece, start, shift) in enumerate(zip(where["piece_index"].tolist(),
                                                        batch["step_offset"].tolist(), where["shift"].tolist())):
            targets[row, : music[row]] = self.window_targets(piece, start, int(music[row]), shift)
        return soft_cross_entropy(logits, targets.to(logits.device))

    def nll(self, pieces: list[np.ndarray]) -> float:
        """The teacher's own NLL per token on the pieces it was built from."""
        return _nll([torch.log(t.gather(-1, torch.from_numpy(serialise(p)).unsqueeze(-1))).squeeze(-1).numpy()
                     for t, p in zip(self.targets, pieces)])

    def describe(self) -> dict:
        return {"models": self.models, "transpositions": self.transpositions, "temperature": self.temperature}


def soften(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """(..., V) distributions raised to 1/T and renormalised: T > 1 spreads the mass, ranks kept."""
    if temperature == 1.0:
        return probs
    logits = torch.log(probs) / temperature  # log 0 = -inf stays impossible
    return torch.softmax(logits, -1)


def build_teacher(model_dirs: list[str], pieces: list[np.ndarray], transpositions: int = 0,
                  progress: bool = True, temperature: float = 1.0) -> Teacher:
    """The Teacher for `pieces` from saved benchmark models, each read over -k..+k, softened by `temperature`.

    The teacher has learned the training pieces, so its targets on them are surer than its predictions
    on music it never saw (the distilled model comes out over-confident); T > 1 evens that out."""
    members = [load_jsb_model(folder)[:2] for folder in model_dirs]
    targets = [soften(t, temperature) for t in teacher_distributions(members, pieces, transpositions, progress=progress)]
    return Teacher(targets, [str(m) for m in model_dirs], transpositions, temperature)
