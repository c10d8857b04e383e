"""Measuring music: model likelihood, per-piece features, set comparison, novelty, style, listening tests.

    likelihood.py  teacher-forced NLL of a model on a dataset split (per token, per note, bits per note)
    features.py    reading sets of pieces (MIDI folders or dataset splits) and their objective features
    compare.py     Yang & Lerch (2018) intra-/inter-set distance comparison (KDE, overlap area, KL)
    novelty.py     longest passage shared with the training corpus (n-gram index), validity
    style.py       a collection/composer classifier trained on real pieces
    report.py      `evaluate samples`: report.json + a self-contained report.html
    listen.py      blind A/B + MOS listening-test kits, and their scoring
    jsb.py         the Music Transformer JSB chorales benchmark (Coconet 16th-note format)
    cli.py         the `evaluate`, `listen-test` and `bench` commands
"""
