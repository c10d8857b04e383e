"""JSB distillation: soft targets moved with the music, the teacher's mixture, and a student that learns it."""

import random
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jsb_pieces import write_tiny_npz
from tunesmith.evaluate.jsb import (PITCH0, REST, VOCAB_SIZE, JsbConfig, build_jsb_model, evaluate_jsb,
                                    format_jsb_table, load_jsb, load_jsb_model, mixture_nll, run_jsb_benchmark,
                                    save_jsb_model, serialise, token_logprobs, train_jsb, training_batch)
from tunesmith.evaluate.jsb_distill import (Teacher, shift_pitch_columns, soft_cross_entropy, soften,
                                            teacher_distributions)

TINY = JsbConfig(context_steps=8, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, batch_size=8,
                 max_steps=40, warmup_steps=4, lr=3e-3, max_minutes=10.0, eval_stride_steps=4, eval_every_minutes=99)
QUIET = {"progress": False, "log": lambda *a: None}


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    return write_tiny_npz(tmp_path_factory.mktemp("jsb") / "tiny.npz")


@pytest.fixture(scope="module")
def trained(npz):
    """A tiny model trained on the tokens (the teacher)."""
    return train_jsb(load_jsb(npz, "train"), None, TINY, **QUIET)[0]


def test_shifting_a_distribution_moves_the_pitches_with_the_music():
    probs = torch.zeros(2, VOCAB_SIZE)
    probs[0, PITCH0 + 60], probs[0, REST] = 0.75, 0.25
    probs[1, PITCH0 + 127] = 1.0
    up = shift_pitch_columns(probs, 2)
    assert up[0, PITCH0 + 62] == 0.75 and up[0, REST] == 0.25 and up[0, PITCH0 + 60] == 0
    assert up[1].sum() == 0  # moved past the MIDI range
    assert torch.equal(shift_pitch_columns(up, -2)[0], probs[0])
    assert shift_pitch_columns(probs, 0) is probs


def test_soft_cross_entropy_with_one_hot_targets_is_the_token_loss(npz, trained):
    batch = training_batch(load_jsb(npz, "train"), TINY, random.Random(0))
    batch.pop("piece_index"), batch.pop("shift")
    trained.eval()
    with torch.no_grad():
        out = trained(**batch)
    labels = batch["labels"][:, 1:]
    one_hot = F.one_hot(labels.clamp(min=0), VOCAB_SIZE).float() * (labels != -100).unsqueeze(-1)
    assert float(soft_cross_entropy(out.logits, one_hot)) == pytest.approx(float(out.loss), rel=1e-5)


def test_the_teacher_is_the_transposition_mixture_mapped_back_to_the_piece(npz, trained):
    train = load_jsb(npz, "train")
    one = teacher_distributions([(trained, TINY)], train)
    assert all(torch.allclose(t.sum(-1), torch.ones(len(t))) for t in one)
    picked = [torch.log(t.gather(-1, torch.from_numpy(serialise(p)).unsqueeze(-1))).squeeze(-1).numpy()
              for t, p in zip(one, train)]
    assert np.allclose(np.concatenate(picked), np.concatenate(token_logprobs(trained, train, TINY)), atol=1e-5)
    # over transpositions, the true token's probability is the mixture's: each read mapped back to the piece's pitches
    teacher = Teacher(teacher_distributions([(trained, TINY)], train, transpositions=1), ["tiny"], 1)
    mixture = mixture_nll([token_logprobs(trained, train, TINY, d) for d in (-1, 0, 1)])
    # (rows renormalised for the mass a shift pushes past the MIDI range: never worse, and barely better)
    assert mixture - 0.01 < teacher.nll(train) <= mixture + 1e-6
    # a window's targets are that window's rows, moved with its transposition
    rows = teacher.window_targets(piece=3, start_step=2, tokens=8, shift=1)
    assert torch.equal(rows, shift_pitch_columns(teacher.targets[3][8:16], 1))


def test_softened_targets_keep_their_ranks_and_spread_their_mass(npz, trained):
    train = load_jsb(npz, "train")
    sharp = teacher_distributions([(trained, TINY)], train)[0]
    soft = soften(sharp, 1.5)
    assert torch.allclose(soft.sum(-1), torch.ones(len(soft))) and torch.equal(soft.argmax(-1), sharp.argmax(-1))

    def entropy(p):
        return float(-(p * p.clamp_min(1e-12).log()).sum(-1).mean())

    assert entropy(soft) > entropy(sharp) and torch.equal(soften(sharp, 1.0), sharp)
    assert torch.all(soft[sharp == 0] == 0)  # what the teacher rules out stays out (padding rows, past the range)


def test_a_student_learns_the_teacher(npz, trained):
    train, valid = load_jsb(npz, "train"), load_jsb(npz, "valid")
    teacher = Teacher(teacher_distributions([(trained, TINY)], train), ["tiny"], 0)
    fresh = replace(TINY, seed=1)
    untrained = build_jsb_model(fresh)
    student, summary = train_jsb(train, None, fresh, model=build_jsb_model(fresh), teacher=teacher, **QUIET)

    def disagreement(model):  # KL(teacher || model) per token on the training pieces
        mine = teacher_distributions([(model, fresh)], train)
        return float(sum((t * (t.clamp_min(1e-12).log() - m.clamp_min(1e-12).log())).sum() for t, m in
                         zip(teacher.targets, mine)) / sum(len(t) for t in mine))

    assert summary["steps"] == fresh.max_steps
    assert disagreement(student) < 0.5 * disagreement(untrained)
    assert evaluate_jsb(student, valid, fresh)["nll_per_token"] < evaluate_jsb(untrained, valid, fresh)["nll_per_token"] - 1.0


def test_the_benchmark_distils_from_saved_models_and_says_so(npz, trained, tmp_path):
    save_jsb_model(tmp_path / "teacher", trained, TINY, {"steps": TINY.max_steps})
    result = run_jsb_benchmark(npz, tmp_path / "student", replace(TINY, max_steps=5), progress=False,
                               teacher_dirs=[tmp_path / "teacher"], teacher_transpositions=1, teacher_temperature=1.3)
    told = result["training"]["distilled_from"]
    assert told["models"] == [str(tmp_path / "teacher")] and told["transpositions"] == 1 and told["teacher_train_nll"] > 0
    assert told["temperature"] == 1.3 and "softened T = 1.3" in format_jsb_table(result)
    assert "averaged predictions of 1 model(s)" in format_jsb_table(result) and "one model, one pass" in format_jsb_table(result)
    assert load_jsb_model(tmp_path / "student" / "model")[2]["distilled_from"] == told
