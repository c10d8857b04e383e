"""Samples per style from a model, for `tunesmith evaluate samples` (the model card's per-style figures).

    PYTHONPATH=src python benchmarks/style_samples.py --out runs/style-samples --per-style 10
    tunesmith evaluate samples runs/style-samples --reference runs/full/data:validation \\
        --train runs/full/data --style-field collection --out runs/style-eval          # all styles pooled
    tunesmith evaluate samples runs/style-samples/bach --reference runs/full/data:validation:collection=bach \\
        --out runs/style-eval-bach                                                    # one style, its own ceiling

Each style is asked for in words, as a user would; the collection it belongs to is set too, so the
style classifier's verdict can be compared with what was asked. Writes NAME.mid + NAME.json per sample.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tqdm import tqdm

from tunesmith.generate import GenerationOptions, load, save_generation
from tunesmith.prompt import understand

STYLES = {  # collection -> the sentence that asks for it
    "bach": "a four-part Bach chorale for choir",
    "palestrina": "Renaissance polyphony in the style of Palestrina for choir",
    "oneills1850": "an Irish folk tune",  # no instrument: the corpus's folk tunes carry none (read as piano)
    "essenFolksong": "a German folk song",
    "pianomidi": "compose a piano piece in the style of Chopin",
    "pop909": "a pop song for piano",
}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    ap.add_argument("--out", default="runs/style-samples")
    ap.add_argument("--per-style", type=int, default=10)
    ap.add_argument("--bars", type=int, default=16)
    args = ap.parse_args(argv)
    model = load(args.model)
    tok = model.tokenizer
    out = Path(args.out)
    t0 = time.time()
    for collection, text in tqdm(STYLES.items(), desc="styles"):
        reading = understand(text, tok.controls, tok.meters, collection=collection, bars=args.bars)
        opts = GenerationOptions(controls=reading.controls, bars=reading.bars, text=text, num_samples=args.per_style)
        for k, gen in enumerate(model.generate(opts)):
            save_generation(gen, out / collection, f"{collection}-{k:02d}", audio=False, picture=k == 0,
                            prompt=reading.to_dict())
    print(f"{len(STYLES) * args.per_style} samples in {time.time() - t0:.0f} s -> {out}")


if __name__ == "__main__":
    main()
