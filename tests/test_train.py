"""Training a tiny model on real corpus data: loss falls, checkpoints are complete, a run resumes."""

import json
import shutil
from dataclasses import replace

import pytest
from safetensors.torch import load_file

from tunesmith.errors import TunesmithError
from tunesmith.train import TrainConfig, lr_at, train


def test_tiny_model_learns(tiny_model):
    out, summary = tiny_model
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    val = [r["val_loss"] for r in rows if "val_loss" in r]
    train_loss = [r["loss"] for r in rows if "loss" in r]
    assert len(val) >= 2 and val[-1] < val[0] - 0.3, val
    assert train_loss[-1] < train_loss[0] - 1.0
    assert summary["steps"] == 80 and summary["tokens_per_s"] > 0
    for folder in ("best", "last"):
        for name in ("model.safetensors", "model.json", "train.json", "tokenizer/remi.json", "tokenizer/controls.json"):
            assert (out / folder / name).is_file(), f"{folder}/{name}"
    assert (out / "last" / "state" / "optimizer.safetensors").is_file()
    assert (out / "loss.png").stat().st_size > 5000
    saved = json.loads((out / "best" / "train.json").read_text())
    assert saved["preset"] == "tiny" and saved["max_steps"] == 80


def test_resume_continues_where_it_stopped(tmp_path, chorale_dataset):
    cfg = TrainConfig(preset="tiny", max_steps=6, batch_size=2, eval_every=3, log_every=1, max_len=128, dropout=0.2)
    first = train(chorale_dataset, tmp_path / "run", cfg, progress=False)
    assert first["steps"] == 6
    more = train(chorale_dataset, tmp_path / "run", TrainConfig(preset="tiny", max_steps=10), resume=True,
                 progress=False)
    assert more["steps"] == 10
    steps = [json.loads(x)["step"] for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 10 and 6 in steps and 7 in steps  # one log, no restart from 0
    saved = json.loads((tmp_path / "run" / "last" / "train.json").read_text())
    assert saved["max_len"] == 128  # the resumed run kept the original configuration
    model = json.loads((tmp_path / "run" / "last" / "model.json").read_text())
    assert model["max_len"] == 128 and model["dropout"] == 0.2  # --max-len and --dropout reach the model


def test_resume_after_a_crash_drops_the_metrics_logged_past_the_checkpoint(tmp_path, chorale_dataset):
    cfg = TrainConfig(preset="tiny", max_steps=4, batch_size=2, eval_every=4, log_every=1, max_len=128)
    train(chorale_dataset, tmp_path / "run", cfg, progress=False)
    metrics = tmp_path / "run" / "metrics.jsonl"
    with open(metrics, "a") as f:  # a run killed after logging steps 5 and 6 but before checkpointing them
        f.write(json.dumps({"step": 5, "loss": 9.0}) + "\n" + json.dumps({"step": 6, "loss": 9.0}) + "\n")
    train(chorale_dataset, tmp_path / "run", TrainConfig(preset="tiny", max_steps=6), resume=True, progress=False)
    rows = [json.loads(x) for x in metrics.read_text().splitlines()]
    logged = [r["step"] for r in rows if "loss" in r]
    assert logged == sorted(set(logged)) and logged[-2:] == [5, 6]  # each step once, in order
    assert all(r["loss"] != 9.0 for r in rows if "loss" in r)  # the crashed run's rows are gone


def test_dropout_outside_0_1_is_refused(tmp_path, chorale_dataset):
    with pytest.raises(TunesmithError, match="dropout"):
        train(chorale_dataset, tmp_path / "run", TrainConfig(preset="tiny", max_steps=1, dropout=1.5), progress=False)
    assert not (tmp_path / "run").exists()


def test_max_minutes_bounds_a_run(tmp_path, chorale_dataset):
    cfg = TrainConfig(preset="tiny", max_steps=10_000, max_minutes=0.02, batch_size=2, max_len=128)
    summary = train(chorale_dataset, tmp_path / "run", cfg, progress=False)
    assert summary["stop"] == "max_minutes" and summary["steps"] < 10_000
    assert (tmp_path / "run" / "best" / "model.safetensors").is_file()


def test_schedule_warms_up_then_decays():
    cfg = TrainConfig(lr=1e-3, warmup_steps=10, max_steps=100, min_lr_ratio=0.1)
    assert lr_at(0, cfg) < lr_at(9, cfg) == 1e-3
    assert abs(lr_at(100, cfg) - 1e-4) < 1e-9
    assert lr_at(50, cfg) > lr_at(80, cfg)


def test_the_default_recipe_is_how_the_bundled_model_was_made_and_flags_override_recipes():
    from tunesmith.generate import load
    from tunesmith.train import load_train_config, recipe_stages

    # `--preset default` runs the three stages the bundled model's recipe.json records, config for config
    # (each was run in its own session, its source given as --init-from default: the release before it)
    bundled = load(None).folder
    made = json.loads((bundled / "recipe.json").read_text())["stages"]
    plan = recipe_stages("default")
    assert [name for name, _ in plan] == [s["stage"] for s in made] == ["scratch", "window-keys", "piano-x3"]
    for (name, cfg), stage in zip(plan, made):
        recorded = TrainConfig(**stage["config"])
        assert replace(cfg, init_from=None) == replace(recorded, init_from=None), name
    assert load_train_config(bundled) == TrainConfig(**made[-1]["config"])  # train.json is the last stage's
    assert plan[0][1].window_key is False and plan[-1][1].weights == {"collection=pianomidi": 3.0}

    assert [cfg.lr for _, cfg in recipe_stages("default", lr=1e-4, seed=None)] == [1e-4] * 3  # flags: every stage
    assert [(n, c.preset) for n, c in recipe_stages("tiny")] == [("tiny", "tiny")]
    with pytest.raises(TunesmithError, match="--init-from"):
        recipe_stages("finetune")
    assert recipe_stages("finetune", resume=True)[0][1].lr == 2e-4  # resuming a fine-tune needs no source


def test_a_staged_recipe_trains_each_stage_from_the_last_and_resumes_past_finished_ones(tmp_path, chorale_dataset):
    from tunesmith.generate import export, load
    from tunesmith.train import train_stages

    base = TrainConfig(preset="tiny", max_steps=3, batch_size=2, eval_every=3, log_every=1, max_len=128, warmup_steps=1)
    plan = [("scratch", replace(base, lr=3e-3, window_key=False)), ("more", base),
            ("bach-x2", replace(base, weights={"composer=bach": 2.0}))]
    summary = train_stages(chorale_dataset, tmp_path / "run", plan, progress=False)
    assert [s["stage"] for s in summary["stages"]] == ["scratch", "more", "bach-x2"] and summary["steps"] == 3
    first, second = tmp_path / "run" / "stages" / "1-scratch", tmp_path / "run" / "stages" / "2-more"
    assert json.loads((second / "best" / "train.json").read_text())["init_from"] == str(first / "best")
    last = json.loads((tmp_path / "run" / "best" / "train.json").read_text())
    assert last["init_from"] == str(second / "best") and last["weights"] == {"composer=bach": 2.0}
    recorded = json.loads((tmp_path / "run" / "recipe.json").read_text())["stages"]
    assert [s["config"]["lr"] for s in recorded] == [3e-3, 1e-3, 1e-3] and all(s["tokens"] > 0 for s in recorded)
    assert load(tmp_path / "run").folder == tmp_path / "run" / "best"  # the run folder is the last stage's

    # an interrupted run: the second stage stopped before its marker was written, the third never started
    (second / "stage.json").unlink()
    for name in ("stage.json", "recipe.json", "metrics.jsonl"):
        (tmp_path / "run" / name).unlink()
    for name in ("best", "last"):
        shutil.rmtree(tmp_path / "run" / name)
    weights = (first / "best" / "model.safetensors").read_bytes()
    again = train_stages(chorale_dataset, tmp_path / "run", plan, resume=True, progress=False)
    assert (first / "best" / "model.safetensors").read_bytes() == weights  # a finished stage is not trained again
    assert [s["steps"] for s in again["stages"]] == [3, 3, 3] and (tmp_path / "run" / "recipe.json").is_file()
    assert (tmp_path / "run" / "best" / "model.safetensors").is_file()  # the third stage trained

    exported = export(tmp_path / "run", tmp_path / "shipped", dtype="bf16")
    assert json.loads((exported / "recipe.json").read_text())["stages"][0]["stage"] == "scratch"


def test_init_from_fine_tunes_a_trained_model(tmp_path, chorale_dataset, tiny_model):
    """A fine-tune starts where the source model stands (its size, its weights), not from scratch."""
    source, summary = tiny_model
    cfg = TrainConfig(preset="small", max_steps=1, batch_size=2, lr=1e-9, warmup_steps=1, eval_every=1,
                      init_from=str(source))
    tuned = train(chorale_dataset, tmp_path / "ft", cfg, progress=False)
    fresh = train(chorale_dataset, tmp_path / "fresh", replace(cfg, preset="tiny", max_len=384, init_from=None),
                  progress=False)
    assert abs(tuned["best_val_loss"] - summary["best_val_loss"]) < 0.05  # one step at lr 1e-9 changes nothing
    assert fresh["best_val_loss"] > summary["best_val_loss"] + 1.0
    saved = json.loads((tmp_path / "ft" / "best" / "train.json").read_text())
    assert saved["preset"] == "tiny" and saved["init_from"] == str(source / "best")  # the source's size was kept
    assert json.loads((tmp_path / "ft" / "best" / "model.json").read_text())["max_len"] == 384


def test_transplant_copies_embeddings_by_token_name(tiny_model):
    """A dataset with other labels keeps the source's embedding of every token the two share."""
    import torch

    from tunesmith.model import build_model, load_model_config, transplant_weights
    from tunesmith.tokenizer import ControlVocab, Tokenizer

    source = tiny_model[0] / "best"
    old = Tokenizer.load(source / "tokenizer")
    new = Tokenizer(ControlVocab(["bach", "mozart"], ["bach", "mozart"], ["chorale", "minuet"]))
    model = build_model(replace(load_model_config(source), vocab_size=new.vocab_size))
    missing = transplant_weights(model, source, new.vocab, old.vocab)
    assert missing == len(set(new.vocab) - set(old.vocab)) > 0
    src = load_file(str(source / "model.safetensors"))["model.embed_tokens.weight"].float()
    emb = model.model.embed_tokens.weight
    for token in ("Pitch_60", "Bar_None", "Composer_bach", "Key_D_minor"):
        assert torch.equal(emb[new.vocab[token]], src[old.vocab[token]])
    assert torch.equal(model.lm_head.weight, emb)  # still tied


def test_init_from_a_missing_model_names_it(tmp_path, chorale_dataset):
    from tunesmith.errors import BadInputError

    with pytest.raises(BadInputError, match="no-such-model"):
        train(chorale_dataset, tmp_path / "run", TrainConfig(max_steps=1, init_from=str(tmp_path / "no-such-model")),
              progress=False)


def test_weights_draw_the_matching_pieces_more_often(chorale_dataset):
    """A FIELD=VALUE:FACTOR weight multiplies how often those pieces are drawn; an unmatched value is refused."""
    from collections import Counter

    from tunesmith.data.dataset import Dataset, SequenceOptions
    from tunesmith.train import BatchSampler, parse_weight

    data = Dataset(chorale_dataset)
    pieces, tok = data.pieces("train"), data.tokenizer()
    minor = f"key={Counter(p.meta['key'] for p in pieces if 'minor' in p.meta['key']).most_common(1)[0][0]}"
    opts = SequenceOptions(384)
    plain = BatchSampler(pieces, tok, opts, seed=0)
    weighted = BatchSampler(pieces, tok, opts, seed=0, weights={minor: 4.0})
    before, after = plain.share(minor), weighted.share(minor)
    assert 0 < before < 0.5 and after == pytest.approx(4 * before / (4 * before + 1 - before))
    drawn = weighted.rng.choices(weighted.pieces, weights=weighted.weights, k=4000)
    key = minor.partition("=")[2]
    assert sum(p.meta["key"] == key for p in drawn) / 4000 == pytest.approx(after, abs=0.03)

    assert parse_weight("collection=pianomidi:3") == ("collection=pianomidi", 3.0)
    for bad in ("collection=pianomidi", "pianomidi:3", "collection=pianomidi:0", "collection=:2", "collection=x:two"):
        with pytest.raises(TunesmithError, match="FIELD=VALUE:FACTOR"):
            parse_weight(bad)
    with pytest.raises(TunesmithError, match="no training piece has composer 'chopin'"):
        BatchSampler(pieces, tok, opts, seed=0, weights={"composer=chopin": 3.0})


def test_weights_are_saved_with_the_run(tmp_path, chorale_dataset):
    cfg = TrainConfig(preset="tiny", max_steps=1, batch_size=2, eval_every=1, max_len=128, weights={"composer=bach": 2.0})
    train(chorale_dataset, tmp_path / "run", cfg, progress=False)
    assert json.loads((tmp_path / "run" / "best" / "train.json").read_text())["weights"] == {"composer=bach": 2.0}
