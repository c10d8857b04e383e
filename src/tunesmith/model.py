"""The decoder: a Llama-style Transformer (RoPE, RMSNorm, SwiGLU, SDPA attention) from HF transformers.

A model folder holds everything needed to rebuild it:

    model.json        ModelConfig (this file's dataclass)
    train.json        TrainConfig used to train it (tunesmith.train)
    tokenizer/        remi.json (MidiTok) + controls.json (labels the model knows)
    model.safetensors the weights (never pickle)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save
from transformers import LlamaConfig, LlamaForCausalLM

from tunesmith.errors import BadInputError, TunesmithError
from tunesmith.fileio import write_bytes

WEIGHTS_NAME = "model.safetensors"


@dataclass(frozen=True)
class ModelConfig:
    preset: str = "small"  # the named size this config started from
    vocab_size: int = 0  # music + control tokens (set from the tokenizer)
    hidden_size: int = 256  # d_model
    num_layers: int = 6  # decoder blocks
    num_heads: int = 4  # attention heads (head_dim = hidden_size / num_heads)
    num_kv_heads: int = 4  # key/value heads (< num_heads = grouped-query attention)
    intermediate_size: int = 704  # SwiGLU inner width
    max_len: int = 1024  # context length in tokens (RoPE positions)
    dropout: float = 0.1  # attention dropout during training
    rope_theta: float = 10000.0  # RoPE base
    text_slots: int = 0  # prefix positions that carry the prompt's embedding (0 = no text conditioning)
    text_dim: int = 384  # width of the text encoder's sentence embedding (all-MiniLM-L6-v2)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads


PRESETS: dict[str, ModelConfig] = {
    # trains in seconds on a CPU: for tests and smoke runs
    "tiny": ModelConfig("tiny", hidden_size=64, num_layers=2, num_heads=2, num_kv_heads=2,
                        intermediate_size=176, max_len=512, dropout=0.0, text_slots=2),
    # a few minutes on a laptop CPU: the demo's size
    "mini": ModelConfig("mini", hidden_size=128, num_layers=4, num_heads=4, num_kv_heads=4,
                        intermediate_size=352, max_len=512, dropout=0.0, text_slots=2),
    # hours on a laptop CPU
    "small": ModelConfig("small", hidden_size=256, num_layers=6, num_heads=4, num_kv_heads=4,
                         intermediate_size=704, max_len=1024, text_slots=2),
    # a GPU, or a long CPU run
    "base": ModelConfig("base", hidden_size=512, num_layers=8, num_heads=8, num_kv_heads=8,
                        intermediate_size=1408, max_len=2048, text_slots=2),
}


def preset(name: str, **overrides) -> ModelConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)


class TunesmithLM(LlamaForCausalLM):
    """The Llama decoder plus the prompt's way in: `text_proj` maps the sentence embedding of the
    prompt (B, text_dim) to `text_slots` prefix embeddings (B, slots, d) that replace the embeddings
    of the placeholder tokens Text_0 .. Text_{slots-1} wherever they occur in input_ids.

    A sequence reads   BOS Text_0 Text_1 <controls> <music>   (or without the Text tokens when there
    is no prompt), so the decoder attends to the prompt the way it attends to any earlier token.
    """

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        slots = getattr(config, "text_slots", 0)
        self.text_proj = torch.nn.Linear(config.text_dim, slots * config.hidden_size) if slots else None
        if self.text_proj is not None:
            torch.nn.init.normal_(self.text_proj.weight, std=0.02)
            torch.nn.init.zeros_(self.text_proj.bias)

    def embed_with_text(self, input_ids: torch.Tensor, text_embeds: torch.Tensor) -> torch.Tensor:
        emb = self.model.embed_tokens(input_ids)  # (B, T, d)
        b, d, slots = input_ids.size(0), emb.size(-1), self.config.text_slots
        slot = input_ids - self.config.text_slot_id  # (B, T): 0 .. slots-1 at the placeholders
        is_slot = (slot >= 0) & (slot < slots)
        prefix = self.text_proj(text_embeds.to(emb.dtype)).view(b, slots, d)  # (B, slots, d)
        picked = torch.gather(prefix, 1, slot.clamp(0, slots - 1).unsqueeze(-1).expand(-1, -1, d))  # (B, T, d)
        return torch.where(is_slot.unsqueeze(-1), picked, emb)

    def forward(self, input_ids=None, text_embeds=None, inputs_embeds=None, **kwargs):
        if text_embeds is not None and input_ids is not None and inputs_embeds is None and self.text_proj is not None:
            inputs_embeds, input_ids = self.embed_with_text(input_ids, text_embeds), None
        return super().forward(input_ids=input_ids, inputs_embeds=inputs_embeds, **kwargs)


def build_model(cfg: ModelConfig, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2) -> TunesmithLM:
    """A freshly initialised decoder for `cfg`. The Text_i placeholders are the vocabulary's last
    `text_slots` ids (tunesmith.tokenizer puts them there)."""
    return TunesmithLM(llama_config(cfg, pad_id, bos_id, eos_id))


def llama_config(cfg: ModelConfig, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2) -> LlamaConfig:
    """The HF configuration of the decoder `cfg` describes."""
    return LlamaConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.hidden_size,  # d
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        intermediate_size=cfg.intermediate_size,  # SwiGLU: d -> 2 x inner -> d
        max_position_embeddings=cfg.max_len,
        rope_theta=cfg.rope_theta,
        attention_dropout=cfg.dropout,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        pad_token_id=pad_id,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        attn_implementation="sdpa",
        text_slots=cfg.text_slots,
        text_dim=cfg.text_dim,
        text_slot_id=cfg.vocab_size - cfg.text_slots,
    )


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


DEFAULT_MODEL = Path(__file__).parent / "models" / "default"  # shipped inside the package


def model_folder(path: str | Path | None) -> Path:
    """The model folder `path` names: None or "default" = the bundled model; a training output folder
    stands for its best/ checkpoint."""
    if path is None or str(path) == "default":
        if not (DEFAULT_MODEL / "model.json").is_file():
            raise TunesmithError(f"no bundled model at {DEFAULT_MODEL}; pass a model folder "
                                 "(train one with `tunesmith train`)")
        return DEFAULT_MODEL
    folder = Path(path)
    if not folder.exists():
        raise BadInputError(folder, "no such model folder")
    if not (folder / "model.json").is_file() and (folder / "best" / "model.json").is_file():
        folder = folder / "best"
    return folder


def save_model_config(cfg: ModelConfig, folder: Path) -> None:
    (folder / "model.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")


def load_model_config(folder: Path) -> ModelConfig:
    path = folder / "model.json"
    if not path.is_file():
        raise BadInputError(folder, "not a tunesmith model folder (no model.json)")
    raw = json.loads(path.read_text())
    known = {f.name for f in fields(ModelConfig)}
    return ModelConfig(**{k: v for k, v in raw.items() if k in known})


def save_weights(model: TunesmithLM, folder: Path, dtype: torch.dtype | None = None) -> None:
    """Weights as safetensors (tied embeddings stored once)."""
    state = {k: v.detach().to(dtype or v.dtype).contiguous() for k, v in model.state_dict().items()
             if k != "lm_head.weight"}
    write_bytes(folder / WEIGHTS_NAME, save(state))  # atomic, usual permissions (safetensors' own writer makes 0600)


def load_weights(model: TunesmithLM, folder: Path) -> None:
    path = folder / WEIGHTS_NAME
    if not path.is_file():
        raise BadInputError(folder, f"no {WEIGHTS_NAME} in the model folder")
    _load_state(model, load_file(str(path)), path, "model.json")


def _load_state(model: TunesmithLM, state: dict[str, torch.Tensor], path: Path, against: str) -> None:
    """Load a weights file's tensors into `model` (in its dtype), tie the output head to the embeddings;
    a BadInputError naming the file when a tensor is missing or extra."""
    dtype = next(model.parameters()).dtype
    missing, unexpected = model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=False)
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        raise BadInputError(path, f"weights do not match {against} (missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.tie_weights()


def transplant_weights(model: TunesmithLM, folder: Path, vocab: dict[str, int], source_vocab: dict[str, int]) -> int:
    """Start `model` from the weights in `folder`, whose tokenizer's vocabulary is `source_vocab`.

    Every layer is copied; the token embeddings are copied row by row by token name, so a dataset with
    other labels (composers, genres) keeps what the source knew about the tokens both share. Returns how
    many of `vocab`'s tokens the source lacked (they keep their fresh initialisation).
    """
    path = folder / WEIGHTS_NAME
    if not path.is_file():
        raise BadInputError(folder, f"no {WEIGHTS_NAME} in the model folder")
    state = load_file(str(path))
    name = "model.embed_tokens.weight"
    rows = model.state_dict()[name].clone()
    shared = [(i, source_vocab[t]) for t, i in vocab.items() if t in source_vocab]
    new, old = (torch.tensor(x, dtype=torch.long) for x in zip(*shared))
    rows[new] = state[name][old].to(rows.dtype)
    state[name] = rows
    _load_state(model, state, path, "the model size")
    return len(vocab) - len(shared)
