"""Samples per style from a model, for `tunesmith evaluate samples` (the model card's per-style figures).

    PYTHONPATH=src python benchmarks/style_samples.py --out runs/style-samples --per-style 10
    tunesmith evaluate samples runs/style-samples --reference runs/full/data:validation \\
        --train runs/full/data --style-field collection --out runs/style-eval          # all styles pooled
    tunesmith evaluate samples runs/style-samples/bach --reference runs/full/data:validation:collection=bach \\
        --out runs/style-eval-bach                                                    # one style, its own ceiling

Each style is asked for in words, as a user would; the collection (or composer) it belongs to is set
too, so the style classifier's verdict can be compared with what was asked. `--styles` picks which. Writes NAME.mid + NAME.json per sample.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tqdm import tqdm

from tunesmith.generate import GenerationOptions, load, save_generation
from tunesmith.prompt import understand

STYLES = {  # folder -> the sentence that asks for the style, and the label it stands for
    "bach": ("a four-part Bach chorale for choir", {"collection": "bach"}),
    "palestrina": ("Renaissance polyphony in the style of Palestrina for choir", {"collection": "palestrina"}),
    "oneills1850": ("an Irish folk tune", {"collection": "oneills1850"}),
    "essenFolksong": ("a German folk song", {"collection": "essenFolksong"}),
    "pianomidi": ("compose a piano piece in the style of Chopin", {"collection": "pianomidi"}),
    "pop909": ("a pop song for piano", {"collection": "pop909"}),
    # not in the default run: the per-composer and instrument checks of the model card
    "oneills1850-fiddle": ("an Irish folk tune for fiddle", {"collection": "oneills1850"}),
    "beethoven": ("a piano sonata movement in the style of Beethoven", {"composer": "beethoven"}),
    "mozart": ("a piano piece in the style of Mozart", {"composer": "mozart"}),
    "schubert": ("a piano piece in the style of Schubert", {"composer": "schubert"}),
    "chopin": ("compose a piano piece in the style of Chopin", {"composer": "chopin"}),  # the composer alone
}
DEFAULT_STYLES = ["bach", "palestrina", "oneills1850", "essenFolksong", "pianomidi", "pop909"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    ap.add_argument("--out", default="runs/style-samples")
    ap.add_argument("--per-style", type=int, default=10)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0, help="sample k of each style is drawn with seed + k")
    ap.add_argument("--style-guidance", type=float, default=1.0, help="classifier-free guidance towards the style")
    ap.add_argument("--temperature", type=float, default=GenerationOptions.temperature, help="sampling temperature")
    ap.add_argument("--top-p", type=float, default=GenerationOptions.top_p, help="nucleus mass")
    ap.add_argument("--no-typical", action="store_true", help="leave unasked meter / tempo to the model")
    ap.add_argument("--styles", default=",".join(DEFAULT_STYLES), help=f"comma-separated, from: {', '.join(STYLES)}")
    args = ap.parse_args(argv)
    model = load(args.model)
    tok = model.tokenizer
    out = Path(args.out)
    t0 = time.time()
    names = [n.strip() for n in args.styles.split(",") if n.strip()]
    unknown = [n for n in names if n not in STYLES]
    if unknown:
        raise SystemExit(f"unknown style(s) {', '.join(unknown)}; choose from {', '.join(STYLES)}")
    for name in tqdm(names, desc="styles"):
        text, label = STYLES[name]
        reading = understand(text, tok.controls, tok.meters, bars=args.bars, **label)
        opts = GenerationOptions.from_reading(reading, num_samples=args.per_style, seed=args.seed,
                                              style_guidance=args.style_guidance, typical=not args.no_typical,
                                              temperature=args.temperature, top_p=args.top_p)
        for k, gen in enumerate(model.generate(opts)):
            save_generation(gen, out / name, f"{name}-{k:02d}", audio=False, picture=k == 0,
                            prompt=reading.to_dict())
    print(f"{len(names) * args.per_style} samples in {time.time() - t0:.0f} s -> {out}")


if __name__ == "__main__":
    main()
