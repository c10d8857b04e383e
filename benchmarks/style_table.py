"""The model card's per-style table from folders of samples (benchmarks/style_samples.py), in one run.

    python benchmarks/style_samples.py --styles bach,...,schubert --out runs/ss-g1
    python benchmarks/style_samples.py --styles bach,...,schubert --style-guidance 2 --out runs/ss-g2
    python benchmarks/style_table.py runs/ss-g1 runs/ss-g2 --data runs/full/data

For every style folder (one per style, its samples' JSON naming the collection or composer asked for):
- recognised: the share of samples the style classifier (trained once per field on 16-bar excerpts of the
  data's training pieces, the samples' length) files under the label asked, beside the same share for
  real excerpts of that label judged by classifiers that never read their piece (5-fold cross-validation
  grouped by piece: the classifier's own ceiling for that style);
- overlap: Yang & Lerch mean overlap area of the samples with the style's real pieces (its validation
  pieces; for a composer, whose validation pieces are too few, its training pieces), beside the
  real-vs-real ceiling of two halves of those pieces;
- copies: the share of samples sharing >= 4 bars with a training piece (transposition-invariant);
- per set: samples stuck in a loop (tunesmith.adherence.longest_stuck_run) and keyboard onsets no two hands
  can play (tunesmith.ops.fits_two_hands), the sampler's flaws that decoding now catches.
Prints a markdown table, then for every style recognised in under half its samples the labels its
samples (and its real excerpts) were filed under, and writes it as JSON with --out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm import tqdm

from tunesmith.adherence import STUCK_BARS
from tunesmith.evaluate import compare, novelty, style
from tunesmith.evaluate.features import load_set, set_features
from tunesmith.fileio import write_json

COMPOSER_REFERENCE_SPLIT = "train"  # the validation split holds 0-3 pieces per composer


def asked_labels(folder: Path) -> list[tuple[str, str]]:
    """The (field, label) pairs a style folder's samples asked for, from their JSON: the collection and
    the composer where both were asked ("in the style of Chopin": pianomidi and chopin). The first is the one
    the folder is named for ("beethoven": his composer label before the piano-midi.de collection a "piano
    sonata" also names), else the collection."""
    for path in sorted(folder.glob("*.json")):
        controls = json.loads(path.read_text()).get("controls", {})
        labels = [(field, controls[field]) for field in ("collection", "composer") if controls.get(field)]
        if labels:
            return sorted(labels, key=lambda fl: fl[1] != folder.name.split("-")[0])  # stable: collection first
    raise SystemExit(f"{folder}: no sample JSON names a collection or composer")


def style_row(data: str, folder: Path, samples: list, field: str, label: str, classifiers: dict, ceilings: dict,
              references: dict) -> dict:
    """Recognition (samples and cross-validated real excerpts) and overlap (with its ceiling) for one asked label."""
    scored = style.score_samples(classifiers[field], samples)["per_class"].get(
        label, {"asked": 0, "as_asked": 0, "classified_as": {}})
    real = ceilings[field].get(label)  # cross-validated real excerpts of the label
    if (field, label) not in references:
        split = COMPOSER_REFERENCE_SPLIT if field == "composer" else "validation"
        ref_feats = set_features(load_set(f"{data}:{split}:{field}={label}", limit=400).samples)
        references[(field, label)] = (ref_feats, compare.mean_of(compare.real_vs_real(ref_feats), "oa"))
    ref_feats, ceiling = references[(field, label)]
    overlap = compare.mean_of(compare.compare_sets(set_features(samples), ref_feats), "oa")
    return {"style": f"{folder.name} ({field} {label})", "field": field,
            "label": label, "samples": len(samples), "recognised": scored["as_asked"], "asked": scored["asked"],
            "real_recognised": real["as_asked"] if real else None, "real_asked": real["asked"] if real else None,
            "overlap": overlap, "ceiling": ceiling,
            "filed_as": scored["classified_as"], "real_filed_as": real["classified_as"] if real else {}}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("samples", nargs="*", help="folders of style folders (benchmarks/style_samples.py --out)")
    ap.add_argument("--data", default="runs/full/data", help="the dataset the model was trained on")
    ap.add_argument("--out", help="write the rows as JSON here")
    ap.add_argument("--rows", help="only print the table of rows saved earlier with --out")
    args = ap.parse_args(argv)
    if args.rows:
        return print_table(json.loads(Path(args.rows).read_text()))
    if not args.samples:
        ap.error("give folders of samples, or --rows")

    classifiers, ceilings = {}, {}
    for field in ("collection", "composer"):
        clf, report = style.train_style_classifier(args.data, field, progress=True)
        classifiers[field] = clf
        ceilings[field] = report["crossval"]["per_class"]
        print(f"{field} classifier: {report['train_excerpts']} excerpts of {report['train_pieces']} pieces; held-out "
              f"accuracy {report['heldout']['accuracy']:.0%} on {report['heldout']['excerpts']} excerpts of the "
              f"{report['heldout']['source']} (majority {report['heldout']['majority_baseline']:.0%}); "
              f"cross-validated by piece {report['crossval']['accuracy']:.0%}")
    index = novelty.index_dataset(args.data)
    references: dict[tuple[str, str], tuple[list, float]] = {}

    rows = []
    for root in args.samples:
        for folder in tqdm(sorted(p for p in Path(root).iterdir() if p.is_dir()), desc=str(root)):
            samples = load_set(folder).samples
            matches = [novelty.sample_match(index, s.score) for s in samples if s.score is not None]
            copies = novelty.novelty_summary(matches, n=index.n)["share_copying"]
            checks = [novelty.check_validity(s) for s in samples]  # the sampler's flaws: loops, unplayable chords
            flaws = {"samples_stuck": sum(c.stuck_bars >= STUCK_BARS for c in checks), "samples": len(samples),
                     "unplayable": sum(c.unplayable for c in checks),
                     "keyboard_onsets": sum(c.keyboard_onsets for c in checks)}
            guidance = json.loads(next(folder.glob("*.json")).read_text())["options"].get("style_guidance", 1.0)
            for k, (field, label) in enumerate(asked_labels(folder)):
                rows.append(style_row(args.data, folder, samples, field, label, classifiers, ceilings, references)
                            | {"set": str(root), "guidance": guidance, "copies": copies, "primary": k == 0} | flaws)

    print_table(rows)
    if args.out:
        write_json(args.out, rows)


def print_table(rows: list[dict]) -> None:
    """The rows as markdown, then per set of samples the totals over each style's first label (its
    collection where one was asked, else its composer)."""
    print("\n| style | guidance | recognised | real excerpts recognised | overlap | ceiling | copies >= 4 bars |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        real = f"{r['real_recognised']} / {r['real_asked']}" if r["real_asked"] else "n/a"
        print(f"| {r['style']} | {r['guidance']:g} | {r['recognised']} / {r['asked']} | {real} | {r['overlap']:.3f} | "
              f"{r['ceiling']:.3f} | {r['copies']:.0%} |")
    print()
    def most_first(counts: dict) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))

    for r in rows:  # where the classifier files what it does not recognise: a neighbouring style, or noise?
        if r["asked"] and r["recognised"] < r["asked"] / 2 and r.get("filed_as"):
            real = most_first(r["real_filed_as"])
            print(f"{r['style']}, G={r['guidance']:g}: samples filed as {most_first(r['filed_as'])}"
                  + (f"; real excerpts filed as {real}" if real else ""))
    print()
    for name in dict.fromkeys(r["set"] for r in rows):
        first = [r for r in rows if r["set"] == name and r.get("primary", True)]
        n = len(first)
        print(f"{name}: {n} styles, recognised {sum(r['recognised'] for r in first)} / {sum(r['asked'] for r in first)}, "
              f"mean overlap {sum(r['overlap'] for r in first) / n:.3f} (mean ceiling "
              f"{sum(r['ceiling'] for r in first) / n:.3f}), copies >= 4 bars {sum(r['copies'] for r in first) / n:.1%}")
        if all("samples_stuck" in r for r in first):  # rows saved before these counts were kept lack them
            print(f"{name}: stuck in a loop {sum(r['samples_stuck'] for r in first)} of {sum(r['samples'] for r in first)} "
                  f"samples; keyboard onsets no two hands can play {sum(r['unplayable'] for r in first)} of "
                  f"{sum(r['keyboard_onsets'] for r in first)}")


if __name__ == "__main__":
    main()
