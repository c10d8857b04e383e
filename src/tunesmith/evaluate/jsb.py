"""`tunesmith bench jsb`: the J.S. Bach chorales benchmark of Music Transformer (Huang et al. 2018, Table 2).

Data: Coconet's 16th-note format, an .npz of splits, each a sequence of pieces, each piece a
(time steps, 4) array of MIDI pitches for soprano, alto, tenor and bass (NaN or -1 = silence).
Serialisation as in the paper: every time step becomes four tokens, S A T B; silence is its own
token. tunesmith's decoder (tunesmith.model) is trained on the training split with random
transposition and evaluated as validation NLL per token over whole pieces (sliding windows, aligned
to time steps, where a piece is longer than the context), printed beside the paper's table.

What the decoder is told besides the tokens (`step_features`, the counterpart of the paper's relative
timing): each position's voice (S, A, T, B), its time step's place in the 16-step cycle, and the
pitch the voice about to be predicted held one step earlier. All three are functions of the
position and of earlier tokens, so the model stays a plain left-to-right model of the same sequence
and its NLL is comparable with the paper's.

Relative pitch (`relative_pitch`, the counterpart of the paper's relative-pitch attention): each
position is also told two intervals, from its own voice's pitch one step earlier (the voice's motion)
and from the token just before it (the voice above at the same step); and the output adds, to every
pitch's logit, a score for its interval from two references, the pitch the predicted voice held one step
earlier and the pitch just written (`relative_logits`). Those scores are shared by all pitches, so
"hold the note", "step down a second" or "a sixth below the alto" are learned once for every key. The
output is still one softmax over the same absolute-pitch tokens: the NLL stays comparable.

The model is trained for a fixed budget (steps or minutes, whichever ends first; the cosine schedule
follows whichever is further along) and the final weights are reported: the evaluation split never
selects a checkpoint.
"""

from __future__ import annotations

import math
import random
import time
import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm
from transformers.modeling_outputs import CausalLMOutputWithPast

from tunesmith.data.dataset import collate
from tunesmith.errors import BadInputError, TunesmithError
from tunesmith.evaluate.likelihood import autocast, window_spans
from tunesmith.fileio import atomic_dir, write_json
from tunesmith.model import (ModelConfig, TunesmithLM, count_parameters, llama_config, load_model_config,
                             load_weights, preset, save_model_config, save_weights)
from tunesmith.train import TrainConfig, lr_at

PAPER_TABLE = (  # Huang et al. 2018, "Music Transformer", Table 2: JSB chorales validation NLL per token
    ("Coconet (Huang et al. 2017)", 0.436),
    ("Transformer baseline (Vaswani et al. 2017)", 0.417),
    ("Transformer + relative attention", 0.357),
    ("Music Transformer, best (relative attention, more tuning)", 0.335),
)
PAD, BOS, EOS, REST = 0, 1, 2, 3
PITCH0 = 4  # token of MIDI pitch p is PITCH0 + p
VOCAB_SIZE = PITCH0 + 128
VOICES = 4


# ---- data ---------------------------------------------------------------------------------------

def _open_npz(path: Path):
    """The npz, without pickle when its arrays allow; with it for the benchmark's object arrays."""
    if not zipfile.is_zipfile(path):  # np.load would take any other file for a pickle
        raise BadInputError(path, "not an .npz file")
    z = np.load(path, allow_pickle=False)
    try:
        for name in z.files:
            z[name]
        return z
    except ValueError:
        z.close()
        # The public JSB file stores each split as an object array of per-piece arrays, which numpy
        # can only read through pickle. It is accepted here, for this benchmark's data format only,
        # and every piece is checked below to be a plain 2-D numeric array.
        return np.load(path, allow_pickle=True, encoding="latin1")


def jsb_splits(path: str | Path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise BadInputError(path, "no such file")
    try:
        with _open_npz(path) as z:
            return list(z.files)
    except (OSError, ValueError, EOFError) as e:
        raise BadInputError(path, f"not an .npz file ({type(e).__name__}: {e})") from e


def load_jsb(path: str | Path, split: str) -> list[np.ndarray]:
    """The pieces of one split as int arrays (steps, 4) of MIDI pitches, -1 for silence."""
    path = Path(path)
    splits = jsb_splits(path)
    if split not in splits:
        raise BadInputError(path, f"no split {split!r} (it has: {', '.join(splits)})")
    with _open_npz(path) as z:
        raw = z[split]
    if isinstance(raw, np.ndarray) and raw.dtype != object and raw.ndim == 2:
        raw = [raw]  # a file holding one piece per split
    if not isinstance(raw, (np.ndarray, list, tuple)) or len(raw) == 0:
        raise BadInputError(path, f"split {split!r} is not a non-empty sequence of pieces")
    return [_checked_piece(path, split, k, p) for k, p in enumerate(raw)]


def _checked_piece(path: Path, split: str, k: int, piece) -> np.ndarray:
    if not isinstance(piece, np.ndarray) or piece.dtype == object or piece.ndim != 2 or piece.shape[1] != VOICES:
        raise BadInputError(path, f"{split}[{k}] is not a (steps, {VOICES}) numeric array")
    if not np.issubdtype(piece.dtype, np.number):
        raise BadInputError(path, f"{split}[{k}] is not numeric ({piece.dtype})")
    a = np.asarray(piece, dtype=np.float64)
    silent = np.isnan(a) | (a < 0)
    pitches = np.where(silent, -1, np.round(np.nan_to_num(a))).astype(np.int64)
    if (pitches > 127).any() or len(pitches) == 0:
        raise BadInputError(path, f"{split}[{k}] holds pitches above 127, or no time steps")
    return pitches


def serialise(piece: np.ndarray, shift: int = 0) -> np.ndarray:
    """Tokens S A T B per time step; silence -> REST, pitch p -> PITCH0 + p + shift."""
    return np.where(piece < 0, REST, PITCH0 + piece + shift).reshape(-1)


def allowed_shift(piece: np.ndarray, wanted: int) -> int:
    sounding = piece[piece >= 0]
    if not len(sounding) or 0 <= sounding.min() + wanted and sounding.max() + wanted <= 127:
        return wanted
    return 0


# ---- training -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class JsbConfig:
    context_steps: int = 128  # time steps per training window (x 4 tokens, + BOS)
    hidden_size: int = 256
    num_layers: int = 6
    num_heads: int = 4
    intermediate_size: int = 704
    dropout: float = 0.3  # dropout on the input embeddings and on each block's attention and MLP outputs (0.1 overfits)
    step_features: bool = True  # tell the decoder each token's voice, beat phase and the voice's last pitch
    relative_pitch: bool = False  # interval features in, interval scores out (see the module's docstring)
    batch_size: int = 16
    lr: float = 1e-3
    warmup_steps: int = 200
    max_steps: int = 6000
    max_minutes: float = 20.0
    weight_decay: float = 0.1
    transpose: int = 5  # random shift in [-transpose, transpose] semitones during training
    eval_stride_steps: int = 64  # time steps scored per sliding window after the first
    eval_every_minutes: float = 5.0  # a validation figure for the log (never selects the checkpoint)
    precision: str = "auto"
    seed: int = 0

    @property
    def max_len(self) -> int:
        return VOICES * self.context_steps + 1


def model_config(cfg: JsbConfig) -> ModelConfig:
    return preset("small", vocab_size=VOCAB_SIZE, max_len=cfg.max_len, hidden_size=cfg.hidden_size,
                  num_layers=cfg.num_layers, num_heads=cfg.num_heads, num_kv_heads=cfg.num_heads,
                  intermediate_size=cfg.intermediate_size, dropout=0.0, text_slots=0)


PHASES = 16  # beat-phase cycle in 16th-note steps


def shifted(ids: torch.Tensor, k: int) -> torch.Tensor:
    """(B, T) the token k positions back, PAD where there is none."""
    return torch.cat([ids.new_full((ids.size(0), k), PAD), ids[:, :-k]], 1)[:, : ids.size(1)]


def step_features(input_ids: torch.Tensor, step_offset: torch.Tensor | None = None):
    """(voice, phase, held), each (B, T), for windows `BOS S A T B S A T B ...` whose first time step is
    `step_offset` (B,) of its piece: the voice of each position (VOICES at BOS), the phase of its time
    step in the 16-step cycle, and the token three back (PAD before the second step): the pitch that
    the voice predicted next held one step earlier."""
    b, n = input_ids.shape
    t = torch.arange(n, device=input_ids.device)  # (T,)
    j = (t - 1).clamp(min=0)  # index of the token in the window's music
    voice = torch.where(t == 0, VOICES, j % VOICES).expand(b, n)
    offset = step_offset if step_offset is not None else torch.zeros(b, dtype=torch.long)
    phase = (offset.to(input_ids.device)[:, None] + (j // VOICES)[None]) % PHASES
    held = torch.where((t >= VOICES)[None], shifted(input_ids, VOICES - 1), PAD)
    return voice, phase, held


MAX_INTERVAL = 36  # semitones scored by the relative-pitch head, either way


def intervals(tokens: torch.Tensor, refs: torch.Tensor) -> torch.Tensor:
    """(B, T) interval index of `tokens` from `refs` in 0 .. 2 * MAX_INTERVAL, or 2 * MAX_INTERVAL + 1
    where either is not a pitch or the interval is wider than MAX_INTERVAL."""
    d = tokens - refs
    ok = (tokens >= PITCH0) & (refs >= PITCH0) & (d.abs() <= MAX_INTERVAL)
    return torch.where(ok, d + MAX_INTERVAL, 2 * MAX_INTERVAL + 1)


def relative_logits(scores: torch.Tensor, refs: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """(B, T, V) logit offsets: pitch token v gets scores[..., (v - ref) + MAX_INTERVAL] where `refs`
    (B, T) is a pitch and |v - ref| <= MAX_INTERVAL, else 0. `scores` is (B, T, 2 * MAX_INTERVAL + 1)."""
    v = torch.arange(vocab_size, device=refs.device)  # (V,)
    d = v[None, None, :] - refs[..., None]  # (B, T, V)
    ok = (v >= PITCH0)[None, None] & (refs >= PITCH0)[..., None] & (d.abs() <= MAX_INTERVAL)
    picked = scores.gather(-1, (d + MAX_INTERVAL).clamp(0, 2 * MAX_INTERVAL))  # (B, T, V)
    return torch.where(ok, picked, torch.zeros((), dtype=picked.dtype, device=picked.device))


class JsbLM(TunesmithLM):
    """tunesmith's decoder with step features and residual dropout for the chorale benchmark.

    A window reads   BOS  S A T B  S A T B ...   starting at time step `step_offset` of its piece.
    Position t >= 1 holds voice (t-1) % 4 of step offset + (t-1) // 4; the token it predicts, t+1,
    belongs to the voice whose previous-step pitch sits at t-3.
    """

    def __init__(self, config, dropout: float, step_features: bool, relative_pitch: bool = False):
        super().__init__(config)
        d = config.hidden_size
        self.dropout, self.step_features, self.relative_pitch = dropout, step_features, relative_pitch
        if relative_pitch:
            n = 2 * MAX_INTERVAL + 2  # + 1: no interval
            self.motion_emb = torch.nn.Embedding(n, d)  # from the same voice one step earlier (token t-4)
            self.vertical_emb = torch.nn.Embedding(n, d)  # from the token before (t-1)
            for e in (self.motion_emb, self.vertical_emb):
                torch.nn.init.normal_(e.weight, std=0.02)
            self.held_head = torch.nn.Linear(d, 2 * MAX_INTERVAL + 1, bias=False)  # scores from the held pitch
            self.above_head = torch.nn.Linear(d, 2 * MAX_INTERVAL + 1, bias=False)  # scores from token t
            for head in (self.held_head, self.above_head):
                torch.nn.init.zeros_(head.weight)  # start as the plain model
        if step_features:
            self.voice_emb = torch.nn.Embedding(VOICES + 1, d)  # + 1: BOS
            self.phase_emb = torch.nn.Embedding(PHASES, d)
            self.held_emb = torch.nn.Embedding(config.vocab_size, d)  # PAD where there is no earlier step
            for e in (self.voice_emb, self.phase_emb, self.held_emb):
                torch.nn.init.normal_(e.weight, std=0.02)
        for layer in self.model.layers:  # residual dropout, which HF's Llama lacks
            layer.mlp.register_forward_hook(lambda _m, _i, out: F.dropout(out, self.dropout, self.training))
            layer.self_attn.register_forward_hook(
                lambda _m, _i, out: (F.dropout(out[0], self.dropout, self.training), *out[1:]))

    def forward(self, input_ids=None, step_offset=None, inputs_embeds=None, labels=None, attention_mask=None,
                **kwargs):
        ids = input_ids
        if inputs_embeds is None:
            emb = self.model.embed_tokens(input_ids)  # (B, T, d)
            if self.step_features:
                voice, phase, held = step_features(input_ids, step_offset)
                emb = emb + self.voice_emb(voice) + self.phase_emb(phase) + self.held_emb(held)
            if self.relative_pitch:
                emb = emb + self.motion_emb(intervals(ids, shifted(ids, VOICES))) \
                    + self.vertical_emb(intervals(ids, shifted(ids, 1)))
            inputs_embeds, input_ids = F.dropout(emb, self.dropout, self.training), None
        if not self.relative_pitch or ids is None:
            return super().forward(input_ids=input_ids, inputs_embeds=inputs_embeds, labels=labels,
                                   attention_mask=attention_mask, **kwargs)
        h = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state  # (B, T, d)
        logits = self.lm_head(h)  # (B, T, V)
        logits = logits + relative_logits(self.held_head(h), shifted(ids, VOICES - 1), logits.size(-1)) \
            + relative_logits(self.above_head(h), ids, logits.size(-1))
        loss = None
        if labels is not None:  # position t predicts token t + 1
            loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1),
                                   ignore_index=-100)
        return CausalLMOutputWithPast(loss=loss, logits=logits)


def build_jsb_model(cfg: JsbConfig) -> JsbLM:
    return JsbLM(llama_config(model_config(cfg), PAD, BOS, EOS), cfg.dropout, cfg.step_features, cfg.relative_pitch)


def with_relative_pitch(model: JsbLM, cfg: JsbConfig) -> JsbLM:
    """`model` (trained without relative pitch) with the relative-pitch parts added, all zero: it predicts
    exactly what `model` does until training moves them."""
    grown = JsbLM(model.config, cfg.dropout, cfg.step_features, relative_pitch=True).to(next(model.parameters()).device)
    missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
    added = {"motion_emb.weight", "vertical_emb.weight", "held_head.weight", "above_head.weight"}
    if unexpected or set(missing) - added:
        raise TunesmithError(f"cannot add relative pitch: unexpected {unexpected[:3]}, missing {missing[:3]}")
    with torch.no_grad():
        for e in (grown.motion_emb, grown.vertical_emb):
            e.weight.zero_()
    return grown


def training_batch(pieces: list[np.ndarray], cfg: JsbConfig, rng: random.Random) -> dict[str, torch.Tensor]:
    """Random windows of random pieces (weighted by length), randomly transposed, after BOS; with where each
    came from (`piece_index`, `step_offset`, `shift`) for a teacher's targets."""
    chosen = rng.choices(range(len(pieces)), weights=[len(p) for p in pieces], k=cfg.batch_size)
    seqs, starts, shifts = [], [], []
    for k in chosen:
        start = rng.randrange(max(1, len(pieces[k]) - cfg.context_steps + 1))
        window = pieces[k][start: start + cfg.context_steps]
        shift = allowed_shift(window, rng.randint(-cfg.transpose, cfg.transpose)) if cfg.transpose else 0
        seqs.append([BOS] + serialise(window, shift).tolist())
        starts.append(start)
        shifts.append(shift)
    return {**collate(seqs, PAD, [1] * len(seqs)), "step_offset": torch.tensor(starts),
            "piece_index": torch.tensor(chosen), "shift": torch.tensor(shifts)}


@torch.no_grad()
def window_logprobs(model, pieces: list[np.ndarray], cfg: JsbConfig, shift: int = 0, batch_size: int = 8,
                    progress: bool = False):
    """Yield (piece index, first token, end token, log-probabilities (end - first, V)) covering every token of
    every piece (transposed by `shift`), BOS given: the first window scores what it holds, each later one
    the next `eval_stride_steps` steps with as much earlier music as the context holds; every window is
    told the time step it starts at."""
    device = next(model.parameters()).device
    model.eval()
    seqs = [serialise(p, shift) for p in pieces]
    jobs = [(k, start, end, scored) for k, seq in enumerate(seqs)
            for start, end, scored in window_spans(1, len(seq), cfg.max_len, VOICES * cfg.eval_stride_steps)]
    jobs.sort(key=lambda j: j[2] - j[1])  # similar lengths together: little padding
    for i in tqdm(range(0, len(jobs), batch_size), desc="scoring", unit="batch", disable=not progress):
        chunk = jobs[i: i + batch_size]
        batch = collate([[BOS] + seqs[k][start:end].tolist() for k, start, end, _ in chunk], PAD, [1] * len(chunk))
        with autocast(device, cfg.precision):
            logits = model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device),
                           step_offset=torch.tensor([start // VOICES for _, start, _, _ in chunk])).logits
        logp = torch.log_softmax(logits[:, :-1].float(), -1).cpu()  # (B, T-1, V): position j predicts token start + j
        for row, (k, start, end, scored) in enumerate(chunk):
            yield k, scored, end, logp[row, scored - start: end - start]


def token_logprobs(model, pieces: list[np.ndarray], cfg: JsbConfig, shift: int = 0, batch_size: int = 8,
                   progress: bool = False) -> list[np.ndarray]:
    """Log-probability of every token of every piece (transposed by `shift`), as window_logprobs scores it."""
    seqs = [serialise(p, shift) for p in pieces]
    out = [np.zeros(len(seq)) for seq in seqs]
    for k, first, end, logp in window_logprobs(model, pieces, cfg, shift, batch_size, progress):
        tokens = torch.from_numpy(seqs[k][first:end]).unsqueeze(-1)
        out[k][first:end] = logp.gather(-1, tokens).squeeze(-1).numpy()
    return out


def mixture_nll(members: list[list[np.ndarray]]) -> float:
    """NLL per token of the equal-weight mixture of several members' token probabilities, each member a
    list of per-piece log-probability arrays (token_logprobs) over the same tokens. Every member scores
    every token, so the mixture is itself a proper left-to-right model of them."""
    tokens = sum(len(x) for x in members[0])
    total = 0.0
    for k in range(len(members[0])):
        stacked = torch.from_numpy(np.stack([m[k] for m in members]))
        total += float((torch.logsumexp(stacked, 0) - math.log(len(members))).sum())
    return -total / tokens


def _check_transpositions(pieces: list[np.ndarray], transpositions: int) -> None:
    for k, piece in enumerate(pieces):
        if transpositions and any(allowed_shift(piece, d) != d for d in (-transpositions, transpositions)):
            raise TunesmithError(f"piece {k} leaves the MIDI range when transposed by ±{transpositions}: "
                                 "use fewer transpositions")


def evaluate_jsb(model, pieces: list[np.ndarray], cfg: JsbConfig, batch_size: int = 8, progress: bool = False,
                 transpositions: int = 0) -> dict:
    """NLL per token over whole pieces (BOS given, every voice token scored).

    With `transpositions` k > 0 it also reports the NLL of the transposition ensemble: each token's
    probability averaged over the model reading the piece shifted by -k..+k semitones (the shifts that
    must all keep every piece in MIDI range), each prediction mapped back to the original pitches. That
    average is itself a proper left-to-right model of the same tokens, so its NLL is comparable; it costs
    2k+1 passes."""
    _check_transpositions(pieces, transpositions)
    by_shift = _logprobs_by_shift(model, pieces, cfg, transpositions, batch_size, progress)
    single = by_shift[transpositions]
    tokens = int(sum(len(x) for x in single))
    result = {"pieces": len(pieces), "tokens": tokens, "nll_per_token": _nll(single)}
    if transpositions:
        result.update(transpositions=transpositions, nll_per_token_transposed=mixture_nll(by_shift))
    return result


def _logprobs_by_shift(model, pieces: list[np.ndarray], cfg: JsbConfig, transpositions: int, batch_size: int,
                       progress: bool) -> list[list[np.ndarray]]:
    """token_logprobs for the pieces transposed by -k..+k (index k: untransposed)."""
    return [token_logprobs(model, pieces, cfg, d, batch_size, progress)
            for d in range(-transpositions, transpositions + 1)]


def _nll(logprobs: list[np.ndarray]) -> float:
    """NLL per token of per-piece log-probability arrays."""
    return float(-sum(x.sum() for x in logprobs) / sum(len(x) for x in logprobs))


def evaluate_jsb_ensemble(members: list[tuple[torch.nn.Module, JsbConfig]], pieces: list[np.ndarray],
                          transpositions: int = 0, batch_size: int = 8, progress: bool = False) -> dict:
    """NLL per token of several saved models averaged (each also over transpositions -k..+k when k > 0),
    beside each member's own figure: an ensemble, reported as one and never as a single model's result."""
    _check_transpositions(pieces, transpositions)
    logprobs, each = [], []
    for model, cfg in members:
        own = _logprobs_by_shift(model, pieces, cfg, transpositions, batch_size, progress)
        each.append(_nll(own[transpositions]))
        logprobs += own
    return {"pieces": len(pieces), "tokens": int(sum(len(x) for x in logprobs[0])), "members": len(members),
            "transpositions": transpositions, "member_nll_per_token": each,
            "nll_per_token_ensemble": mixture_nll(logprobs)}


def _optimizer(model, cfg: JsbConfig) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.95))


def train_jsb(train: list[np.ndarray], valid: list[np.ndarray] | None, cfg: JsbConfig,
              progress: bool = True, log=print, model: JsbLM | None = None, teacher=None) -> tuple[torch.nn.Module, dict]:
    """Train the decoder on JSB pieces for the budget in `cfg` (a fresh one, or `model` further);
    the model and a training summary. `teacher` (jsb_distill.Teacher, over `train`): learn its predicted
    distributions instead of the tokens alone."""
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = (model or build_jsb_model(cfg)).to(device)
    optimizer = _optimizer(model, cfg)
    schedule = TrainConfig(lr=cfg.lr, warmup_steps=cfg.warmup_steps, max_steps=cfg.max_steps)
    budget = cfg.max_minutes * 60
    log(f"JSB: {count_parameters(model) / 1e6:.2f}M parameters, context {cfg.context_steps} steps "
        f"({cfg.max_len} tokens), {len(train)} training pieces, budget {cfg.max_steps} steps / {cfg.max_minutes} min")
    log(f"JSB config: {asdict(cfg)}")
    curve, t0, next_eval, step, loss_avg = [], time.time(), cfg.eval_every_minutes * 60, 0, math.nan
    bar = tqdm(total=cfg.max_steps, desc="training", unit="step", disable=not progress)
    model.train()
    while step < cfg.max_steps and time.time() - t0 < budget:
        progress_share = max(step / cfg.max_steps, (time.time() - t0) / budget)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(int(progress_share * cfg.max_steps), schedule)
        batch = training_batch(train, cfg, rng)
        where = {k: batch.pop(k) for k in ("piece_index", "shift")}
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast(device, cfg.precision):
            loss = model(**batch).loss if teacher is None else teacher.loss(model, batch, where)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        loss_avg = loss.item() if math.isnan(loss_avg) else 0.9 * loss_avg + 0.1 * loss.item()
        bar.update()
        bar.set_postfix(loss=f"{loss_avg:.3f}")
        if valid and time.time() - t0 >= next_eval:
            val = evaluate_jsb(model, valid, cfg)["nll_per_token"]
            model.train()
            curve.append({"step": step, "minutes": round((time.time() - t0) / 60, 2), "train_loss": loss_avg,
                          "val_nll": val})
            bar.write(f"step {step}: training loss {loss_avg:.4f}, validation NLL/token {val:.4f}")
            next_eval += cfg.eval_every_minutes * 60
    bar.close()
    minutes = (time.time() - t0) / 60
    return model, {"steps": step, "minutes": round(minutes, 2), "device": device.type, "train_loss": loss_avg,
                   "curve": curve,
                   "parameters": count_parameters(model), "tokens_seen": step * cfg.batch_size * (cfg.max_len - 1)}


# ---- saving and the table -----------------------------------------------------------------------

def save_jsb_model(folder: str | Path, model, cfg: JsbConfig, summary: dict) -> Path:
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        save_weights(model, tmp)
        save_model_config(model_config(cfg), tmp)
        write_json(tmp / "jsb.json", {"config": asdict(cfg), "summary": summary})
    return folder


def load_jsb_model(folder: str | Path) -> tuple[torch.nn.Module, JsbConfig, dict]:
    """A saved benchmark model, its configuration and its training summary."""
    import json

    folder = Path(folder)
    if not (folder / "jsb.json").is_file():
        raise BadInputError(folder, "not a JSB benchmark model (no jsb.json)")
    saved = json.loads((folder / "jsb.json").read_text())
    known = {k: v for k, v in saved["config"].items() if k in JsbConfig.__dataclass_fields__}
    known.setdefault("step_features", False)  # models saved before step features existed
    known.setdefault("relative_pitch", False)  # ... or relative pitch
    cfg = replace(JsbConfig(), **known)
    model = JsbLM(llama_config(load_model_config(folder), PAD, BOS, EOS), cfg.dropout, cfg.step_features,
                  cfg.relative_pitch)
    load_weights(model, folder)
    return model.to("cuda" if torch.cuda.is_available() else "cpu").eval(), cfg, saved.get("summary", {})


def format_jsb_table(result: dict) -> str:
    """Our figure beside Music Transformer's Table 2."""
    rows = [(name, f"{v:.3f}") for name, v in PAPER_TABLE]
    ours = result["evaluation"]
    s = result.get("training", {})
    label = (f"tunesmith ({s['parameters'] / 1e6:.1f}M parameters, {s['minutes']:.0f} min on {s.get('device', 'cpu')})"
             if s else "tunesmith")
    if "distilled_from" in s:
        t = s["distilled_from"]
        softened = f", softened T = {t['temperature']:g}" if t.get("temperature", 1.0) != 1.0 else ""
        label += (f", trained on the averaged predictions of {len(t['models'])} model(s) over transpositions "
                  f"-{t['transpositions']}..+{t['transpositions']}{softened}; one model, one pass")
    rows.append((label, f"{ours['nll_per_token']:.3f}"))
    if "nll_per_token_transposed" in ours:
        k = ours["transpositions"]
        trained = " (the shifts it was trained on)" if k == result.get("config", {}).get("transpose") else ""
        rows.append((f"  the same model, averaged over transpositions -{k}..+{k}{trained} ({2 * k + 1} passes)",
                     f"{ours['nll_per_token_transposed']:.3f}"))
    return _table(result, ours, rows)


def _table(result: dict, evaluation: dict, rows: list[tuple[str, str]]) -> str:
    """The benchmark's header, then one (model, NLL/token) line per row."""
    width = max(len(r[0]) for r in rows)
    lines = [f"JSB chorales, {result['split']} split of {result['data']}: NLL per token "
             f"({evaluation['pieces']} pieces, {evaluation['tokens']} tokens)", f"{'model':{width}}  NLL/token",
             f"{'-' * width}  ---------"]
    return "\n".join(lines + [f"{name:{width}}  {value:>9}" for name, value in rows])


ARCHITECTURE = ("context_steps", "hidden_size", "num_layers", "num_heads", "intermediate_size", "step_features",
                "relative_pitch")


def run_jsb_benchmark(data: str | Path, out: str | Path, cfg: JsbConfig = JsbConfig(), train_split: str = "train",
                      eval_split: str = "valid", eval_data: str | Path | None = None,
                      model_dir: str | Path | None = None, progress: bool = True,
                      init_from: str | Path | None = None, transpositions: int = 0,
                      teacher_dirs: list[str | Path] | None = None, teacher_transpositions: int = 0,
                      teacher_temperature: float = 1.0) -> dict:
    """Train on `train_split` of `data` (or load `model_dir`), evaluate on `eval_split` of `eval_data or data`,
    write `out/model/` (when trained) and `out/result.json`; returns the result.

    `init_from`: a saved benchmark model to train further with `cfg`'s schedule (its architecture is
    kept, except that `cfg.relative_pitch` adds relative pitch to a model without it); the summary adds
    up the steps, tokens and minutes of both runs and keeps the earlier one.
    `transpositions` k > 0 also reports the transposition ensemble's NLL (evaluate_jsb).
    `teacher_dirs`: train on those saved models' averaged predictions, each over -k..+k with k =
    `teacher_transpositions`, softened by `teacher_temperature` (jsb_distill); the result is still one
    model, scored in one pass."""
    out = Path(out)
    eval_path = Path(eval_data or data)
    eval_pieces = load_jsb(eval_path, eval_split)
    if model_dir:
        model, cfg, training = load_jsb_model(model_dir)
    else:
        train_pieces = load_jsb(data, train_split)
        start, before = None, None
        if init_from:
            start, saved, before = load_jsb_model(init_from)
            grow = cfg.relative_pitch and not saved.relative_pitch
            kept = {f: getattr(saved, f) for f in ARCHITECTURE}
            cfg = replace(cfg, **{**kept, "relative_pitch": cfg.relative_pitch or saved.relative_pitch})
            if grow:
                start = with_relative_pitch(start, cfg)
        teacher = None
        if teacher_dirs:
            from tunesmith.evaluate.jsb_distill import build_teacher

            teacher = build_teacher(teacher_dirs, train_pieces, teacher_transpositions, progress, teacher_temperature)
        model, training = train_jsb(train_pieces, eval_pieces, cfg, progress=progress, model=start, teacher=teacher)
        if teacher:
            training["distilled_from"] = {**teacher.describe(), "teacher_train_nll": teacher.nll(train_pieces)}
        if before:
            training = {**training, "continued_from": {"model": str(init_from), **before},
                        **{k: training[k] + before.get(k, 0) for k in ("steps", "tokens_seen")},
                        "minutes": round(training["minutes"] + before.get("minutes", 0), 2)}
        save_jsb_model(out / "model", model, cfg, training)
    evaluation = evaluate_jsb(model, eval_pieces, cfg, progress=progress, transpositions=transpositions)
    result = {"data": str(eval_path), "split": eval_split, "config": asdict(cfg), "training": training,
              "evaluation": evaluation, "paper": dict(PAPER_TABLE), "threads": torch.get_num_threads()}
    write_json(out / "result.json", result)
    return result


def run_jsb_ensemble(data: str | Path, out: str | Path, model_dirs: list[str | Path], split: str = "valid",
                     transpositions: int = 0, progress: bool = True) -> dict:
    """Evaluate several saved benchmark models averaged (evaluate_jsb_ensemble) on `split` of `data`;
    writes `out/result.json` and returns the result."""
    pieces = load_jsb(data, split)
    members = [load_jsb_model(folder)[:2] for folder in model_dirs]
    evaluation = evaluate_jsb_ensemble(members, pieces, transpositions, progress=progress)
    result = {"data": str(data), "split": split, "models": [str(m) for m in model_dirs], "ensemble": evaluation,
              "paper": dict(PAPER_TABLE), "threads": torch.get_num_threads()}
    write_json(Path(out) / "result.json", result)
    return result


def format_jsb_ensemble_table(result: dict) -> str:
    """The paper's single models, each member alone, and the ensemble, labelled as one."""
    ens = result["ensemble"]
    k = ens["transpositions"]
    rows = [(name, f"{v:.3f}") for name, v in PAPER_TABLE]
    rows += [(f"tunesmith model {folder}", f"{v:.3f}") for folder, v in zip(result["models"], ens["member_nll_per_token"])]
    label = f"ENSEMBLE of these {ens['members']} models" + (f", each over transpositions -{k}..+{k}" if k else "")
    rows.append((f"{label} ({ens['members'] * (2 * k + 1)} passes; not a single model)", f"{ens['nll_per_token_ensemble']:.3f}"))
    return _table(result, ens, rows)
