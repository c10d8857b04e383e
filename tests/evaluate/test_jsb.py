"""The JSB benchmark: the loader (and what it refuses), the S-A-T-B serialisation, training and the table."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from jsb_pieces import object_array, write_tiny_npz
from tunesmith.errors import BadInputError, TunesmithError
from tunesmith.evaluate.jsb import (BOS, PITCH0, REST, JsbConfig, build_jsb_model, evaluate_jsb, format_jsb_table,
                                   load_jsb, load_jsb_model, run_jsb_benchmark, serialise, step_features, token_logprobs,
                                   train_jsb, with_relative_pitch)


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    return write_tiny_npz(tmp_path_factory.mktemp("jsb") / "tiny.npz")


# the step budget ends training; the time budget is only a guard, so a busy machine trains the same steps
TINY = JsbConfig(context_steps=8, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, batch_size=8,
                 max_steps=40, warmup_steps=4, lr=3e-3, max_minutes=10.0, eval_stride_steps=4, eval_every_minutes=99)


def test_loader_and_serialisation(npz, tmp_path):
    valid = load_jsb(npz, "valid")
    assert [p.shape for p in valid] == [(20, 4), (70, 4)] and valid[0].dtype == np.int64
    assert (valid[1] == -1).any()  # NaN became silence
    tokens = serialise(np.array([[72, 67, -1, 48]]))
    assert tokens.tolist() == [PITCH0 + 72, PITCH0 + 67, REST, PITCH0 + 48]
    assert serialise(np.array([[60, -1, 60, 60]]), shift=2)[0] == PITCH0 + 62
    np.savez(tmp_path / "plain.npz", test=np.full((3, 16, 4), 60.0))  # a plain numeric file needs no pickle
    assert len(load_jsb(tmp_path / "plain.npz", "test")) == 3


@pytest.mark.parametrize("bad, reason", [
    (object_array([np.zeros((5, 3))]), "numeric array"),
    (object_array([np.array([["a"] * 4])]), "not numeric"),
    (object_array([{"evil": 1}]), "numeric array"),
    (object_array([np.full((4, 4), 200.0)]), "above 127"),
])
def test_loader_refuses_what_is_not_pieces(tmp_path, bad, reason):
    np.savez(tmp_path / "bad.npz", valid=bad)
    with pytest.raises(BadInputError, match=reason):
        load_jsb(tmp_path / "bad.npz", "valid")


def test_loader_errors(npz, tmp_path):
    with pytest.raises(BadInputError, match="no split 'test'"):
        load_jsb(npz, "test")
    with pytest.raises(BadInputError, match="no such file"):
        load_jsb(tmp_path / "missing.npz", "valid")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(BadInputError, match="not an .npz"):
        load_jsb(tmp_path / "junk.npz", "valid")


def test_training_learns_and_the_benchmark_reloads(npz, tmp_path):
    train, valid = load_jsb(npz, "train"), load_jsb(npz, "valid")
    untrained, _ = train_jsb(train, None, replace(TINY, max_steps=0), progress=False, log=lambda *a: None)
    model, summary = train_jsb(train, None, TINY, progress=False, log=lambda *a: None)
    before, after = evaluate_jsb(untrained, valid, TINY), evaluate_jsb(model, valid, TINY)
    assert after["tokens"] == 4 * (20 + 70) and summary["steps"] == TINY.max_steps
    assert before["nll_per_token"] == pytest.approx(np.log(132), abs=0.3)
    assert after["nll_per_token"] < before["nll_per_token"] - 1.0

    out = run_jsb_benchmark(npz, tmp_path / "run", TINY, eval_split="valid", progress=False)
    again = run_jsb_benchmark(npz, tmp_path / "again", eval_data=npz, model_dir=tmp_path / "run" / "model",
                              progress=False, transpositions=1)
    assert "averaged over transpositions -1..+1" in format_jsb_table(again)
    assert again["evaluation"]["nll_per_token"] == pytest.approx(out["evaluation"]["nll_per_token"], rel=1e-3)
    reloaded, cfg, summary = load_jsb_model(tmp_path / "run" / "model")
    assert cfg == TINY and summary["steps"] == TINY.max_steps
    table = format_jsb_table(out)
    assert "0.335" in table and "Coconet" in table and f"{out['evaluation']['nll_per_token']:.3f}" in table
    assert BOS == 1


def test_step_features_name_voice_phase_and_the_held_pitch():
    piece = np.array([[72, 67, 64, 48], [72, 67, 64, 48], [74, -1, 65, 50]])
    ids = torch.tensor([[BOS] + serialise(piece).tolist()])
    voice, phase, held = step_features(ids, torch.tensor([15]))
    assert voice[0].tolist() == [4] + [0, 1, 2, 3] * 3
    assert phase[0].tolist() == [15] + [15] * 4 + [0] * 4 + [1] * 4  # steps 15, 16, 17 of the piece
    # at the bass of step 0 (position 4) the next token is step 1's soprano: it held 72 at step 0
    assert held[0, 4].item() == serialise(piece)[0] and held[0, 8].item() == serialise(piece)[4]
    assert (held[0, :4] == 0).all()  # PAD: no earlier step


def test_windows_are_told_where_in_the_piece_they_start(npz):
    valid = load_jsb(npz, "valid")
    model = build_jsb_model(TINY)
    seen = []
    model.register_forward_pre_hook(lambda m, args, kwargs: seen.append(kwargs["step_offset"].tolist()),
                                    with_kwargs=True)
    evaluate_jsb(model, valid, replace(TINY, context_steps=32, eval_stride_steps=16))
    starts = sorted(s for batch in seen for s in batch)
    steps = [len(p) for p in valid]  # 20 and 70 steps: windows at 0; and 0, 16, 32, 38 (= 70 - 32)
    assert steps == [20, 70] and starts == [0, 0, 16, 32, 38]


def test_training_continues_from_a_saved_model(npz, tmp_path):
    first = run_jsb_benchmark(npz, tmp_path / "a", TINY, progress=False)
    more = run_jsb_benchmark(npz, tmp_path / "b", replace(TINY, hidden_size=999, lr=3e-4), progress=False,
                             init_from=tmp_path / "a" / "model")
    t = more["training"]
    assert t["steps"] == 2 * TINY.max_steps and t["continued_from"]["steps"] == TINY.max_steps
    assert more["config"]["hidden_size"] == TINY.hidden_size and more["config"]["lr"] == 3e-4  # architecture kept
    assert more["evaluation"]["nll_per_token"] < first["evaluation"]["nll_per_token"]


def test_token_logprobs_match_the_summed_nll_and_the_transposition_ensemble_is_a_proper_model(npz):
    from tunesmith.evaluate.likelihood import sequences_nll

    valid = load_jsb(npz, "valid")
    cfg = replace(TINY, context_steps=32, eval_stride_steps=16)
    model = build_jsb_model(cfg)
    per_token = token_logprobs(model, valid, cfg)
    assert [len(x) for x in per_token] == [4 * len(p) for p in valid] and all((x < 0).all() for x in per_token)
    tokens = sum(len(x) for x in per_token)
    plain = replace(cfg, step_features=False)  # sequences_nll gives no step offsets: compare without features
    plain_model = build_jsb_model(plain)
    plain_nll, _ = sequences_nll(plain_model, [([BOS], serialise(p).tolist()) for p in valid], cfg.max_len, 0,
                                 4 * cfg.eval_stride_steps)
    assert -sum(x.sum() for x in token_logprobs(plain_model, valid, plain)) == pytest.approx(plain_nll.sum(), rel=1e-3)
    result = evaluate_jsb(model, valid, cfg, transpositions=2)
    assert result["nll_per_token"] == pytest.approx(-sum(x.sum() for x in per_token) / tokens, rel=1e-6)
    assert np.isfinite(result["nll_per_token_transposed"]) and result["transpositions"] == 2
    # Jensen: the NLL of an average of probabilities is at most the average of the members' NLLs
    each = [-sum(x.sum() for x in token_logprobs(model, valid, cfg, d)) / tokens for d in range(-2, 3)]
    assert result["nll_per_token_transposed"] <= np.mean(each) + 1e-6
    with pytest.raises(TunesmithError, match="leaves the MIDI range"):  # no piece may drop a member
        evaluate_jsb(model, [np.array([[127, 60, 55, 48]] * 8)], cfg, transpositions=1)


def test_relative_logits_score_intervals_from_a_reference_pitch():
    from tunesmith.evaluate.jsb import MAX_INTERVAL, VOCAB_SIZE, intervals, relative_logits

    scores = torch.arange(2 * MAX_INTERVAL + 1, dtype=torch.float32).expand(1, 2, -1)  # score of interval d: d + K
    refs = torch.tensor([[PITCH0 + 60, REST]])
    out = relative_logits(scores, refs, VOCAB_SIZE)
    assert out[0, 0, PITCH0 + 60].item() == MAX_INTERVAL  # unison
    assert out[0, 0, PITCH0 + 62].item() == MAX_INTERVAL + 2 and out[0, 0, PITCH0 + 55].item() == MAX_INTERVAL - 5
    assert out[0, 0, PITCH0 + 60 + MAX_INTERVAL + 1].item() == 0  # beyond the widest interval
    assert out[0, 0, :PITCH0].abs().sum() == 0 and out[0, 1].abs().sum() == 0  # REST / no pitch reference
    assert intervals(torch.tensor([[PITCH0 + 64, REST]]), torch.tensor([[PITCH0 + 60, PITCH0 + 60]])).tolist() == \
        [[MAX_INTERVAL + 4, 2 * MAX_INTERVAL + 1]]


def test_relative_pitch_model_trains_reloads_and_starts_as_the_plain_one(npz, tmp_path):
    cfg = replace(TINY, relative_pitch=True)
    plain = build_jsb_model(TINY).eval()
    grown = with_relative_pitch(plain, cfg).eval()
    valid = load_jsb(npz, "valid")
    assert evaluate_jsb(grown, valid, cfg)["nll_per_token"] == pytest.approx(
        evaluate_jsb(plain, valid, TINY)["nll_per_token"], rel=1e-4)  # the interval parts start at zero
    out = run_jsb_benchmark(npz, tmp_path / "rel", cfg, progress=False)
    assert out["evaluation"]["nll_per_token"] < np.log(132) - 1.0
    reloaded, saved, _ = load_jsb_model(tmp_path / "rel" / "model")
    assert saved.relative_pitch and evaluate_jsb(reloaded, valid, saved)["nll_per_token"] == pytest.approx(
        out["evaluation"]["nll_per_token"], rel=1e-3)


def test_a_plain_model_continues_with_relative_pitch_added(npz, tmp_path):
    run_jsb_benchmark(npz, tmp_path / "a", TINY, progress=False)
    more = run_jsb_benchmark(npz, tmp_path / "b", replace(TINY, relative_pitch=True), progress=False,
                             init_from=tmp_path / "a" / "model")
    assert more["config"]["relative_pitch"] and more["training"]["continued_from"]["steps"] == TINY.max_steps
    assert load_jsb_model(tmp_path / "b" / "model")[1].relative_pitch


def test_an_ensemble_is_a_proper_mixture_of_its_members(npz, tmp_path):
    from tunesmith.evaluate.jsb import evaluate_jsb_ensemble, mixture_nll

    valid = load_jsb(npz, "valid")
    members = [(build_jsb_model(replace(TINY, seed=s)), TINY) for s in (0, 1)]
    for s, (model, _) in enumerate(members):
        torch.manual_seed(s)
        with torch.no_grad():  # two different models
            model.lm_head.weight.normal_(0, 0.5)
    result = evaluate_jsb_ensemble(members, valid, transpositions=1)
    each = [token_logprobs(m, valid, c, d) for m, c in members for d in (-1, 0, 1)]
    assert result["nll_per_token_ensemble"] == pytest.approx(mixture_nll(each))
    assert result["member_nll_per_token"] == pytest.approx([evaluate_jsb(m, valid, c)["nll_per_token"] for m, c in members])
    # Jensen: the mixture is at least as good as its members on average; one member alone is itself
    assert result["nll_per_token_ensemble"] <= np.mean([-sum(x.sum() for x in e) / result["tokens"] for e in each]) + 1e-6
    assert mixture_nll(each[:1]) == pytest.approx(-sum(x.sum() for x in each[0]) / result["tokens"])
