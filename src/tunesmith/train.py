"""`tunesmith train`: AdamW + cross-entropy on a dataset folder, on CPU, one GPU or many (accelerate).

The output folder:

    best/            the checkpoint with the lowest validation loss (a complete model folder)
    last/            the latest checkpoint, plus state/ (optimizer, RNG, step) for --resume
    metrics.jsonl    one JSON line per log / evaluation
    loss.png         training and validation loss curves
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from tunesmith.data.dataset import Dataset, Piece, SequenceOptions, collate, training_sequence
from tunesmith.errors import BadInputError, TunesmithError
from tunesmith.fileio import atomic_dir, atomic_path, read_jsonl, write_json, write_jsonl
from tunesmith.model import (ModelConfig, build_model, count_parameters, load_model_config, load_weights, model_folder,
                             preset, save_model_config, save_weights, transplant_weights)
from tunesmith.tokenizer import Controls, Tokenizer


@dataclass(frozen=True)
class TrainConfig:
    preset: str = "small"  # model size preset (tunesmith.model.PRESETS)
    max_len: int | None = None  # context length; None = the preset's
    dropout: float | None = None  # attention dropout; None = the preset's (on a CPU, 0.1 costs ~3x: model_speed.py)
    max_steps: int = 2000  # optimizer steps (the cosine schedule spans these)
    max_minutes: float | None = None  # stop after this many minutes of training, whatever the step
    batch_size: int = 8  # sequences per micro-batch (per device)
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float = 1e-3  # peak learning rate
    min_lr_ratio: float = 0.1  # final learning rate as a share of the peak
    warmup_steps: int = 100  # linear warm-up
    weight_decay: float = 0.1  # AdamW decoupled weight decay (not on norms and biases)
    beta2: float = 0.95  # AdamW second-moment decay
    grad_clip: float = 1.0  # global gradient-norm clip
    eval_every: int = 200  # steps between validation runs
    eval_max_tokens: int = 200_000  # cap on validation tokens per evaluation
    log_every: int = 10  # steps between metric lines
    seed: int = 0  # data order, augmentation and initialisation
    precision: str = "auto"  # "bf16", "fp32", or "auto" (bf16 where supported, CPU included)
    transpose: int = 6  # random transposition range in semitones (0 = off)
    control_dropout: float = 0.25  # chance of leaving out each control during training
    window_key: bool = True  # label each training window with its own key (dataset.window_key), not the piece's
    init_from: str | None = None  # start from this model's weights ("default": the bundled model); its size wins over preset
    weights: dict[str, float] = field(default_factory=dict)  # "FIELD=VALUE" -> how many times more often its pieces are drawn


# Named training recipes: a model size plus the schedule it was trained with. `--preset NAME` on the
# command line picks one; any flag given beside it overrides that field (in every stage). A plain size
# name (tiny, mini, small, base) keeps TrainConfig's defaults. A recipe is a list of stages, each
# starting from the weights the one before it ended with (`train_stages`).
_FINETUNE = dict(preset="small", max_len=512, dropout=0.0, max_steps=2000, max_minutes=48.0, batch_size=16,
                 lr=2e-4, warmup_steps=100, eval_every=500, seed=1)
RECIPES: dict[str, list[tuple[str, dict]]] = {
    # the bundled default model (src/tunesmith/models/default, its MODEL_CARD.md and recipe.json), ~3 h on
    # 2 CPU cores. Attention dropout 0 keeps SDPA on its fused kernel on a CPU (2.9x faster, MODEL_CARD "Size")
    "default": [
        # from scratch, every window conditioned on its piece's key (the third release)
        ("scratch", dict(preset="small", max_len=512, dropout=0.0, max_steps=4800, max_minutes=100.0, batch_size=16,
                         lr=1e-3, warmup_steps=200, eval_every=500, window_key=False)),
        # each window labelled with the key of its own notes (the fourth release)
        ("window-keys", _FINETUNE),
        # the classical piano pieces, which carry the composer labels, drawn three times as often (the fifth)
        ("piano-x3", dict(_FINETUNE, weights={"collection=pianomidi": 3.0})),
    ],
    # fine-tuning a trained model (--init-from, required): the bundled model's shape and batch, a fifth of
    # the peak learning rate (at 1e-3 three steps cost the bundled model 0.07 nats/token), ~45 min on 2 CPU cores
    "finetune": [("finetune", _FINETUNE)],
}


def recipe_stages(name: str, resume: bool = False, dataset: str | Path | None = None,
                  **overrides) -> list[tuple[str, TrainConfig]]:
    """The (stage name, TrainConfig) list of a recipe or model size `name`, `overrides` (None values
    ignored) on top of every stage's. --init-from applies to the first stage; later ones start from the
    stage before. Given the `dataset` and no weights of one's own, the recipe's weights are fitted to it
    (fit_recipe_weights); weights given must match, as always."""
    from tunesmith.model import PRESETS

    if name not in RECIPES and name not in PRESETS:
        raise TunesmithError(f"unknown preset {name!r}; choose a size ({', '.join(PRESETS)}) "
                             f"or a recipe ({', '.join(RECIPES)})")
    given = {k: v for k, v in overrides.items() if v is not None}
    plan = [(stage, TrainConfig(**{**base, **given})) for stage, base in RECIPES.get(name, [(name, {"preset": name})])]
    if name == "finetune" and not plan[0][1].init_from and not resume:  # a resumed run continues its own weights
        raise TunesmithError("the finetune recipe starts from a trained model: add --init-from MODEL "
                             "('default' = the bundled model)")
    return fit_recipe_weights(plan, dataset) if dataset is not None and "weights" not in given else plan


def fit_recipe_weights(plan: list[tuple[str, TrainConfig]], dataset: str | Path) -> list[tuple[str, TrainConfig]]:
    """A recipe's own FIELD=VALUE weights, less those no training piece of `dataset` matches (the default
    recipe's collection=pianomidi on a folder of one's own music), each dropped with a printed note."""
    records = [r for r in Dataset(dataset).records if r["split"] == "train"]
    fitted = []
    for name, cfg in plan:
        kept = {rule: w for rule, w in cfg.weights.items() if any(matches(r, rule) for r in records)}
        for rule in sorted(cfg.weights.keys() - kept.keys()):
            field_name, _, value = rule.partition("=")
            print(f"stage {name}: no training piece has {field_name} {value!r}, so it runs without the weight {rule}")
        fitted.append((name, replace(cfg, weights=kept)))
    return fitted


def load_train_config(folder: Path) -> TrainConfig | None:
    path = folder / "train.json"
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    known = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in raw.items() if k in known})


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to min_lr_ratio * lr at max_steps."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    t = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def _precision(cfg: TrainConfig) -> str:
    if cfg.precision in ("bf16", "fp32"):
        return "bf16" if cfg.precision == "bf16" else "no"
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "no"
    return "bf16"  # CPU autocast to bf16: 1.2-1.3x fp32 here (benchmarks/model_speed.py)


# ---- batches ------------------------------------------------------------------------------------

def parse_weight(text: str) -> tuple[str, float]:
    """'collection=pianomidi:3' -> ('collection=pianomidi', 3.0): draw those pieces 3 times as often."""
    rule, sep, factor = text.rpartition(":")
    name, eq, value = rule.partition("=")
    try:
        number = float(factor)
    except ValueError:
        number = -1.0
    if not (sep and eq and name.strip() and value.strip()) or not number > 0:
        raise TunesmithError(f"a weight is FIELD=VALUE:FACTOR with a positive factor (e.g. collection=pianomidi:3), "
                             f"got {text!r}")
    return f"{name.strip()}={value.strip()}", number


def matches(meta: dict, rule: str) -> bool:
    """Whether a piece's metadata FIELD is VALUE (rule 'FIELD=VALUE', case-insensitive)."""
    name, _, value = rule.partition("=")
    return str(meta.get(name, "")).lower() == value.lower()


def piece_weight(piece: Piece, weights: dict[str, float]) -> float:
    """The product of the factors of every FIELD=VALUE rule the piece's metadata matches."""
    return math.prod(w for rule, w in weights.items() if matches(piece.meta, rule))


class BatchSampler:
    """Random pieces (weighted by how many windows they hold, times any FIELD=VALUE factor) -> augmented
    training sequences."""

    def __init__(self, pieces: list[Piece], tok: Tokenizer, opts: SequenceOptions, seed: int,
                 weights: dict[str, float] | None = None):
        if not pieces:
            raise TunesmithError("the dataset has no training pieces")
        self.pieces, self.tok, self.opts = pieces, tok, opts
        self.rng = random.Random(seed)
        self.weights = [max(1.0, len(p.ids) / opts.max_len) * piece_weight(p, weights or {}) for p in pieces]
        for rule in weights or {}:
            if not any(matches(p.meta, rule) for p in pieces):
                name, _, value = rule.partition("=")
                raise TunesmithError(f"weight {rule!r}: no training piece has {name} {value!r}")

    def share(self, rule: str) -> float:
        """The share of drawn windows that come from pieces matching FIELD=VALUE."""
        hit = sum(w for w, p in zip(self.weights, self.pieces) if matches(p.meta, rule))
        return hit / sum(self.weights)

    def __call__(self, batch_size: int) -> dict[str, torch.Tensor]:
        chosen = self.rng.choices(self.pieces, weights=self.weights, k=batch_size)
        made = [training_sequence(p, self.tok, self.opts, self.rng) for p in chosen]
        seqs = [ids for ids, _ in made]
        text_embeds = None
        if self.opts.text:
            from tunesmith.text import TEXT_DIM, text_encoder

            captions = [c for _, c in made if c is not None]
            encoded = iter(text_encoder().encode(captions)) if captions else iter(())
            text_embeds = torch.stack([next(encoded) if c is not None else torch.zeros(TEXT_DIM) for _, c in made])
        return collate(seqs, self.tok.pad_id, [self._prefix_len(s) for s in seqs], text_embeds)

    def _prefix_len(self, seq: list[int]) -> int:
        n = 0
        while n < len(seq) and (seq[n] == self.tok.bos_id or self.tok.is_control(seq[n])):
            n += 1
        return n


def validation_batches(pieces: list[Piece], tok: Tokenizer, max_len: int, batch_size: int, max_tokens: int):
    """Whole validation pieces in consecutive windows, every control given, no augmentation."""
    seqs, prefixes, total = [], [], 0
    for p in pieces:
        prefix = tok.control_ids(Controls.from_meta(p.meta))
        music = np.append(p.ids.astype(np.int64), tok.eos_id).tolist()
        room = max_len - len(prefix)
        for start in range(0, len(music), room):
            window = music[start: start + room]
            seqs.append(prefix + window)
            prefixes.append(len(prefix))
            total += len(window)
        if total >= max_tokens:
            break
    for i in range(0, len(seqs), batch_size):
        yield collate(seqs[i: i + batch_size], tok.pad_id, prefixes[i: i + batch_size])


@torch.no_grad()
def evaluate_loss(model, batches, accelerator: Accelerator) -> float:
    """Mean cross-entropy per predicted music token."""
    model.eval()
    total, count = 0.0, 0
    for batch in batches:
        batch = {k: v.to(accelerator.device) for k, v in batch.items()}
        with accelerator.autocast():
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        labels = batch["labels"][:, 1:]
        loss = torch.nn.functional.cross_entropy(
            logits[:, :-1].float().reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100, reduction="sum")
        total += loss.item()
        count += int((labels != -100).sum())
    model.train()
    return total / max(1, count)


# ---- checkpoints --------------------------------------------------------------------------------

def save_checkpoint(folder: Path, model, tok: Tokenizer, mcfg: ModelConfig, tcfg: TrainConfig,
                    optimizer=None, state: dict | None = None) -> None:
    """A complete model folder (weights, configs, tokenizer), optionally with resumable state/, atomically."""
    with atomic_dir(folder) as tmp:
        save_weights(model, tmp)
        save_model_config(mcfg, tmp)
        write_json(tmp / "train.json", asdict(tcfg))
        tok.save(tmp / "tokenizer")
        if optimizer is not None and state is not None:
            (tmp / "state").mkdir()
            save_optimizer(optimizer, tmp / "state")
            write_json(tmp / "state" / "trainer.json", state)
            save_file({"torch_rng": torch.get_rng_state()}, str(tmp / "state" / "rng.safetensors"))


def save_optimizer(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    """Optimizer state as safetensors (tensors) + JSON (hyper-parameters): no pickle."""
    sd = optimizer.state_dict()
    tensors = {f"{pid}.{name}": v.contiguous() for pid, st in sd["state"].items() for name, v in st.items()
               if torch.is_tensor(v)}
    save_file(tensors, str(folder / "optimizer.safetensors"))
    write_json(folder / "optimizer.json", {"param_groups": sd["param_groups"]})


def load_optimizer(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    tensors = load_file(str(folder / "optimizer.safetensors"))
    groups = json.loads((folder / "optimizer.json").read_text())["param_groups"]
    state: dict[int, dict] = {}
    for key, v in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def plot_losses(metrics_path: Path, out_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    rows = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
    train = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    val = [(r["step"], r["val_loss"]) for r in rows if "val_loss" in r]
    fig = Figure(figsize=(7, 4), dpi=110)
    ax = fig.add_subplot()
    if train:
        ax.plot(*zip(*train), label="train", color="tab:blue", alpha=0.8)
    if val:
        ax.plot(*zip(*val), "o-", label="validation", color="tab:orange")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy per token (nats)")
    ax.set_title("tunesmith training")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png")


# ---- the loop -----------------------------------------------------------------------------------

def train(dataset: str | Path, out: str | Path, cfg: TrainConfig = TrainConfig(), resume: bool = False,
          progress: bool = True) -> dict:
    """Train a model on a dataset folder; returns a summary (steps, losses, tokens/s, paths)."""
    out = Path(out)
    data = Dataset(dataset)
    tok = data.tokenizer()
    accelerator = Accelerator(mixed_precision=_precision(cfg), gradient_accumulation_steps=cfg.grad_accum,
                              cpu=not torch.cuda.is_available())
    state = {"step": 0, "tokens": 0, "seconds": 0.0, "best_val": None}
    last = out / "last"
    if resume:
        if not (last / "state" / "trainer.json").is_file():
            raise BadInputError(out, "nothing to resume (no last/state/trainer.json)")
        saved = load_train_config(last)
        cfg = replace(saved, max_steps=cfg.max_steps, max_minutes=cfg.max_minutes) if saved else cfg
        state = json.loads((last / "state" / "trainer.json").read_text())
    if cfg.dropout is not None and not 0 <= cfg.dropout < 1:
        raise TunesmithError(f"dropout must be in [0, 1), got {cfg.dropout}")
    overrides = {k: v for k, v in (("max_len", cfg.max_len), ("dropout", cfg.dropout)) if v is not None}
    source = model_folder(cfg.init_from) if cfg.init_from and not resume else None
    if resume:
        mcfg = load_model_config(last)
    elif source:  # fine-tuning: the source's size, this dataset's vocabulary
        mcfg = replace(load_model_config(source), vocab_size=tok.vocab_size, **overrides)
        cfg = replace(cfg, preset=mcfg.preset, init_from="default" if cfg.init_from == "default" else str(source))
    else:
        mcfg = preset(cfg.preset, vocab_size=tok.vocab_size, **overrides)
    torch.manual_seed(cfg.seed)
    model = build_model(mcfg, tok.pad_id, tok.bos_id, tok.eos_id)
    if resume:
        load_weights(model, last)
    elif source:
        fresh = transplant_weights(model, source, tok.vocab, Tokenizer.load(source / "tokenizer").vocab)
        accelerator.print(f"starting from {source} ({fresh} of {tok.vocab_size} tokens new to it)")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, cfg.beta2))
    if resume:
        load_optimizer(optimizer, last / "state")
        torch.set_rng_state(load_file(str(last / "state" / "rng.safetensors"))["torch_rng"])
    model, optimizer = accelerator.prepare(model, optimizer)

    opts = SequenceOptions(mcfg.max_len, cfg.transpose, cfg.control_dropout, text=mcfg.text_slots > 0,
                           window_key=cfg.window_key)
    sampler = BatchSampler(data.pieces("train"), tok, opts,
                           seed=cfg.seed * 1000 + accelerator.process_index + 7919 * state["step"], weights=cfg.weights)
    val_pieces = data.pieces("validation")
    metrics_path = out / "metrics.jsonl"
    out.mkdir(parents=True, exist_ok=True)
    main = accelerator.is_main_process
    if main and metrics_path.exists():  # a fresh run starts a new log; a resumed one drops rows past its checkpoint
        kept = [r for r in read_jsonl(metrics_path) if r.get("step", 0) <= state["step"]] if resume else []
        write_jsonl(metrics_path, kept)
    if main:
        n_params = count_parameters(accelerator.unwrap_model(model))
        accelerator.print(f"model {mcfg.preset}: {n_params / 1e6:.2f}M parameters, vocab {tok.vocab_size}, "
                          f"context {mcfg.max_len} | {len(sampler.pieces)} training pieces, {len(val_pieces)} validation "
                          f"| device {accelerator.device}, precision {accelerator.mixed_precision}")
        for rule, w in cfg.weights.items():
            accelerator.print(f"weight {rule} x{w:g}: {sampler.share(rule):.0%} of training windows")

    def log(row: dict) -> None:
        if main:
            with open(metrics_path, "a") as f:
                f.write(json.dumps(row) + "\n")

    def run_validation() -> float | None:
        if not val_pieces:
            return None
        batches = validation_batches(val_pieces, tok, mcfg.max_len, cfg.batch_size, cfg.eval_max_tokens)
        return evaluate_loss(model, batches, accelerator)

    def checkpoint(folder: Path, with_state: bool) -> None:
        if main:
            save_checkpoint(folder, accelerator.unwrap_model(model), tok, mcfg, cfg,
                            optimizer if with_state else None, state if with_state else None)

    model.train()
    t_start, t_window, tokens_window = time.time(), time.time(), 0
    seconds_before = state["seconds"]
    bar = tqdm(total=cfg.max_steps, initial=state["step"], desc="training", unit="step", disable=not (progress and main))
    loss_sum, loss_n = 0.0, 0
    stop_reason = "max_steps"
    while state["step"] < cfg.max_steps:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(state["step"], cfg)
        for _ in range(cfg.grad_accum):
            batch = {k: v.to(accelerator.device) for k, v in sampler(cfg.batch_size).items()}
            with accelerator.accumulate(model), accelerator.autocast():
                loss = model(**batch).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            n_tok = int(batch["attention_mask"].sum()) * accelerator.num_processes
            tokens_window += n_tok
            state["tokens"] += n_tok
            loss_sum += loss.item()
            loss_n += 1
        state["step"] += 1
        state["seconds"] = seconds_before + time.time() - t_start
        bar.update()
        if state["step"] % cfg.log_every == 0 or state["step"] == cfg.max_steps:
            tps = tokens_window / max(1e-9, time.time() - t_window)
            row = {"step": state["step"], "loss": loss_sum / loss_n, "lr": lr_at(state["step"] - 1, cfg),
                   "tokens_per_s": round(tps), "tokens": state["tokens"], "seconds": round(state["seconds"], 1)}
            log(row)
            bar.set_postfix(loss=f"{row['loss']:.3f}", tok_s=f"{tps:,.0f}")
            loss_sum, loss_n, t_window, tokens_window = 0.0, 0, time.time(), 0
        out_of_time = cfg.max_minutes is not None and (time.time() - t_start) / 60 >= cfg.max_minutes
        if state["step"] % cfg.eval_every == 0 or state["step"] == cfg.max_steps or out_of_time:
            val = run_validation()
            if val is not None:
                log({"step": state["step"], "val_loss": val})
                bar.write(f"step {state['step']}: validation loss {val:.4f}")
                if state["best_val"] is None or val < state["best_val"]:
                    state["best_val"] = val
                    checkpoint(out / "best", with_state=False)
            checkpoint(last, with_state=True)
        if out_of_time:
            stop_reason = "max_minutes"
            break
    bar.close()
    accelerator.wait_for_everyone()
    if main and not (out / "best").exists():  # no validation split: the last weights are the result
        shutil.copytree(last, out / "best", ignore=shutil.ignore_patterns("state"))
    if main and metrics_path.exists():
        plot_losses(metrics_path, out / "loss.png")
    rows = [json.loads(x) for x in metrics_path.read_text().splitlines()] if metrics_path.exists() else []
    train_losses = [r["loss"] for r in rows if "loss" in r]
    tps = [r["tokens_per_s"] for r in rows if "tokens_per_s" in r]
    return {
        "out": str(out), "steps": state["step"], "stop": stop_reason, "tokens": state["tokens"],
        "seconds": round(state["seconds"], 1), "train_loss": train_losses[-1] if train_losses else None,
        "best_val_loss": state["best_val"], "tokens_per_s": round(float(np.median(tps))) if tps else None,
        "loss_png": str(out / "loss.png"),
    }


def train_stages(dataset: str | Path, out: str | Path, plan: list[tuple[str, TrainConfig]], resume: bool = False,
                 progress: bool = True) -> dict:
    """Train a recipe's stages in turn, each from the best weights of the one before.

    The last stage trains into `out` itself (best/, last/, metrics.jsonl: a run folder like any other);
    earlier ones into out/stages/N-NAME/. Each finished stage leaves a stage.json, and out/recipe.json lists
    them all. With `resume`, finished stages are skipped and an interrupted one continues where it stopped."""
    out = Path(out)
    if len(plan) == 1:
        return train(dataset, out, plan[0][1], resume=resume, progress=progress)
    main = int(os.environ.get("RANK", "0")) == 0  # under torchrun, one process writes and prints
    done: list[dict] = []
    source = plan[0][1].init_from
    for i, (name, cfg) in enumerate(plan):
        folder = out if i == len(plan) - 1 else out / "stages" / f"{i + 1}-{name}"
        cfg = replace(cfg, init_from=source)
        finished = folder / "stage.json"
        if resume and finished.is_file():
            summary = json.loads(finished.read_text())
        else:
            if main:
                print(f"stage {i + 1} of {len(plan)}: {name}" + (f", from {source}" if source else ", from scratch"))
            going = resume and (folder / "last" / "state" / "trainer.json").is_file()
            summary = train(dataset, folder, cfg, resume=going, progress=progress)
            if main:
                write_json(finished, {"stage": name, **summary})
        done.append({"stage": name, "folder": str(folder), "config": asdict(cfg), **summary})
        source = str(folder / "best")
    if main:
        write_json(out / "recipe.json", {"stages": done})
    last = {k: v for k, v in done[-1].items() if k not in ("stage", "folder", "config")}  # train()'s summary
    return {**last, "stages": [{k: d[k] for k in ("stage", "steps", "tokens", "seconds", "best_val_loss")}
                               for d in done]}
