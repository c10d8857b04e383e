"""Classifier-free guidance towards the style: the unconditional branch, its cache, and what it does to music."""

import pytest
import torch

import tunesmith
from tunesmith.generate import GenerationOptions
from tunesmith.guidance import StyleGuidance, has_style, without_style
from tunesmith.tokenizer import Controls


@pytest.fixture(scope="module")
def bundled():
    return tunesmith.load()  # the shipped model: trained with control dropout, so it knows both branches


def test_without_style_keeps_everything_but_the_style():
    c = Controls(collection="bach", composer="bach", genre="chorale", key="D minor", meter="4/4", tempo=66,
                 instruments=(40, 41))
    kept = without_style(c)
    assert (kept.collection, kept.composer, kept.genre) == (None, None, None)
    assert (kept.key, kept.meter, kept.tempo, kept.instruments) == ("D minor", "4/4", 66, (40, 41))
    assert has_style(c, text=False) and has_style(kept, text=True) and not has_style(kept, text=False)


def test_cached_branch_matches_a_fresh_read_and_scale_one_is_plain_conditioning(bundled, chorale):
    tok = bundled.tokenizer
    controls = Controls(collection="bach", meter="4/4", instruments=(52,))
    cond = tok.control_ids(controls)
    uncond = tok.control_ids(without_style(controls))
    music = [tok.bar_id] + tok.encode_music(chorale).tolist()[1:12]
    cached = StyleGuidance(bundled.model, uncond, len(cond), 2.0)
    fresh_rows = StyleGuidance(bundled.model, uncond, len(cond), 2.0)  # two rows: the uncached path
    for n in range(len(music)):
        ids = torch.tensor([cond + music[:n]])
        scores = bundled.model(input_ids=ids).logits[:, -1]
        one = cached(ids, scores)
        two = fresh_rows(ids.repeat(2, 1), scores.repeat(2, 1))
        torch.testing.assert_close(one[0], two[1], atol=1e-4, rtol=1e-4)
    same = StyleGuidance(bundled.model, uncond, len(cond), 1.0)
    assert torch.equal(same(ids, scores), scores)


def test_guidance_makes_the_style_more_evident_and_keeps_every_control(bundled):
    """Guided samples are likelier under the style than without it, by more than unguided ones: the
    implicit classifier log p(x | style) - log p(x | no style) goes up, as guidance intends."""
    tok = bundled.tokenizer
    controls = Controls(collection="oneills1850", meter="6/8", instruments=(0,))

    def evidence(gen):
        music = gen.ids[len(tok.control_ids(controls)):]
        def logp(prefix):
            ids = torch.tensor([prefix + music])
            with torch.no_grad():
                logits = bundled.model(input_ids=ids).logits[0, len(prefix) - 1: -1]
            return torch.log_softmax(logits.float(), -1).gather(-1, torch.tensor(music)[:, None]).sum().item()
        return (logp(tok.control_ids(controls)) - logp(tok.control_ids(without_style(controls)))) / len(music)

    plain, guided = [], []
    for seed in range(3):
        # typical=False: the controls stay exactly these (no tempo drawn), so `evidence` reads the music
        opts = GenerationOptions(controls=controls, bars=8, seed=seed, candidates=1, typical=False)
        plain += [evidence(g) for g in bundled.generate(opts)]
        for gen in bundled.generate(GenerationOptions(**{**opts.__dict__, "style_guidance": 3.0})):
            assert all(v["pass"] for v in gen.report.values()), gen.report  # meter, instrument, bars still hold
            guided.append(evidence(gen))
    assert sum(guided) > 1.3 * sum(plain) > 0, (plain, guided)  # measured: 0.042 vs 0.018 nats per token
