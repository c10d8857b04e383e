"""The decoder: presets, and a model folder of safetensors + JSON that rebuilds it exactly."""

import json

import pytest
import torch

from tunesmith.errors import BadInputError
from tunesmith.model import (PRESETS, build_model, count_parameters, load_model_config, load_weights, preset,
                             save_model_config, save_weights)


def test_presets_grow():
    sizes = [count_parameters(build_model(preset(n, vocab_size=700))) for n in ("tiny", "small")]
    assert sizes[0] < 300_000 < 2_000_000 < sizes[1]
    assert set(PRESETS) >= {"tiny", "small"}


def test_llama_style_architecture():
    m = build_model(preset("tiny", vocab_size=100))
    cfg = m.config
    assert cfg.model_type == "llama" and cfg.hidden_act == "silu"  # SwiGLU
    assert m.config._attn_implementation == "sdpa"
    assert "RMSNorm" in type(m.model.norm).__name__
    assert m.lm_head.weight.data_ptr() == m.model.embed_tokens.weight.data_ptr()  # tied


def test_save_and_load_round_trip(tmp_path):
    cfg = preset("tiny", vocab_size=120)
    torch.manual_seed(1)
    m = build_model(cfg)
    save_model_config(cfg, tmp_path)
    save_weights(m, tmp_path)
    assert json.loads((tmp_path / "model.json").read_text())["vocab_size"] == 120
    cfg2 = load_model_config(tmp_path)
    m2 = build_model(cfg2)
    load_weights(m2, tmp_path)
    x = torch.randint(0, 120, (2, 17))
    assert torch.equal(m.eval()(x).logits, m2.eval()(x).logits)
    assert not list(tmp_path.glob("*.bin")) and not list(tmp_path.glob("*.pt"))  # no pickle files


def test_mismatched_weights_are_a_clear_error(tmp_path):
    save_weights(build_model(preset("tiny", vocab_size=120)), tmp_path)
    with pytest.raises(BadInputError, match="model.safetensors"):
        load_weights(build_model(preset("tiny", vocab_size=120, num_layers=3)), tmp_path)
    with pytest.raises(BadInputError, match="no model.json"):
        load_model_config(tmp_path / "nothing")
