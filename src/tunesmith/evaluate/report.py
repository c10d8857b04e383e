"""`tunesmith evaluate samples`: generated vs reference pieces -> report.json + a self-contained report.html.

The page embeds everything (PNG figures, FLAC audio as data URIs): feature histograms of the two
sets, the Yang & Lerch distance densities, the tables (features with the real-vs-real ceiling,
validity, novelty, style) and a player + piano roll for a handful of samples.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.evaluate import compare, novelty, style
from tunesmith.evaluate.features import (DURATION_SHORT, HISTOGRAM_FEATURES, SCALAR_FEATURES, PieceSet, Sample,
                                         feature_matrix, load_set, set_features)
from tunesmith.evaluate.listen import clip_flac
from tunesmith.fileio import write_json, write_text

AUDIO_SECONDS = 30.0


@dataclass(frozen=True)
class SamplesOptions:
    split: str = "validation"  # split used when a set is given as a dataset folder
    train: str | None = None  # training dataset: novelty index and style classifier
    style_field: str = "composer"
    max_pieces: int | None = 400  # random subset of each set
    listen: int = 4  # samples with audio + piano roll in the page
    seed: int = 0
    soundfont: str | None = None
    per_class: int = 150  # classifier training pieces per label


# ---- the measurements ---------------------------------------------------------------------------

def _novelty(index: novelty.NgramIndex, samples: list[Sample]) -> dict:
    scored = [s for s in samples if s.score is not None and s.score.note_num()]
    summary = novelty.novelty_summary([novelty.sample_match(index, s.score) for s in scored], n=index.n)
    for row, s in zip(summary["per_sample"], scored):
        row["sample"] = s.name
    return summary


def measure(gen: PieceSet, ref: PieceSet, opts: SamplesOptions, progress: bool = True) -> tuple[dict, list, list]:
    """Every figure of the report, and the per-piece features of each set."""
    gen_feats = set_features(gen.samples, progress, "features (generated)")
    ref_feats = set_features(ref.samples, progress, "features (reference)")
    if not any(f is not None for f in gen_feats):
        raise TunesmithError(f"{gen.label}: no sample decodes to notes; nothing to compare")
    rows = compare.compare_sets(gen_feats, ref_feats, opts.seed)
    ceiling = compare.real_vs_real(ref_feats, opts.seed)
    report: dict = {
        "generated": {"set": gen.label, "pieces": len(gen.samples)},
        "reference": {"set": ref.label, "pieces": len(ref.samples)},
        "headline": {},
        "features": compare.comparison_table(rows),
        "real_vs_real": compare.comparison_table(ceiling),
        "validity": {"generated": novelty.validity_summary([novelty.check_validity(s) for s in gen.samples]),
                     "reference": novelty.validity_summary([novelty.check_validity(s) for s in ref.samples])},
    }
    if opts.train:
        index = novelty.index_dataset(opts.train)
        report["novelty"] = {"train": str(opts.train), "indexed_ngrams": len(index),
                             "generated": _novelty(index, gen.samples), "reference": _novelty(index, ref.samples)}
        clf, style_report = style.train_style_classifier(opts.train, opts.style_field, opts.per_class, opts.seed)
        if clf is not None:
            style_report["generated"] = style.score_samples(clf, gen.samples)
            style_report["reference"] = style.score_samples(clf, ref.samples)
        report["style"] = style_report
    report["headline"] = headline(report, rows, ceiling)
    return report, gen_feats, ref_feats


def headline(report: dict, rows: list, ceiling: list) -> dict:
    h = {
        "valid_share": report["validity"]["generated"]["valid"],
        "stuck_share": report["validity"]["generated"]["stuck"],
        "reference_stuck_share": report["validity"]["reference"]["stuck"],
        "unplayable_onsets": report["validity"]["generated"]["unplayable"],
        "reference_unplayable_onsets": report["validity"]["reference"]["unplayable"],
        "mean_overlap_area": compare.mean_of(rows, "oa"),
        "mean_overlap_area_real_vs_real": compare.mean_of(ceiling, "oa"),
        "median_kl": compare.median_of(rows, "kl"),
        "median_kl_real_vs_real": compare.median_of(ceiling, "kl"),
    }
    if "novelty" in report:
        g, r = report["novelty"]["generated"], report["novelty"]["reference"]
        h.update(median_longest_copied_notes=g["median_longest_notes"], share_copying_4_bars=g["share_copying"],
                 reference_share_copying_4_bars=r["share_copying"])
    st = report.get("style", {})
    if "generated" in st:
        h.update(style_share_as_asked=st["generated"]["share_as_asked"], style_classifier_accuracy=st["heldout"]["accuracy"],
                 style_majority_baseline=st["heldout"]["majority_baseline"])
    return h


def _or_na(value: float) -> str:
    return "n/a: too few reference pieces" if math.isnan(value) else f"{value:.3f}"


def format_headline(report: dict) -> str:
    h = report["headline"]
    lines = [f"generated: {report['generated']['set']} ({report['generated']['pieces']} pieces)  |  "
             f"reference: {report['reference']['set']} ({report['reference']['pieces']} pieces)",
             f"valid samples: {h['valid_share']:.0%}; stuck in a loop: {h['stuck_share']:.0%} "
             f"(reference pieces {h['reference_stuck_share']:.0%}); keyboard onsets no two hands can play: "
             f"{h['unplayable_onsets']:.1%} (reference {h['reference_unplayable_onsets']:.1%})",
             f"Yang & Lerch mean overlap area {h['mean_overlap_area']:.3f} "
             f"(real vs real {_or_na(h['mean_overlap_area_real_vs_real'])}), "
             f"median KL {h['median_kl']:.3f} (real vs real {_or_na(h['median_kl_real_vs_real'])})"]
    if "share_copying_4_bars" in h:
        lines.append(f"novelty: median longest passage shared with training {h['median_longest_copied_notes']:.0f} notes; "
                     f"samples copying >= 4 bars {h['share_copying_4_bars']:.0%} (real held-out pieces "
                     f"{h['reference_share_copying_4_bars']:.0%})")
    if "style_share_as_asked" in h:
        lines.append(f"style: {h['style_share_as_asked']:.0%} of samples classified as the style asked for "
                     f"(classifier held-out accuracy {h['style_classifier_accuracy']:.0%}, "
                     f"majority-class baseline {h['style_majority_baseline']:.0%})")
    elif "style" in report:
        lines.append(f"style: {report['style'].get('skipped', 'no sample asked for a known style')}")
    return "\n".join(lines)


# ---- pictures and sound -------------------------------------------------------------------------

def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _grid_figure(n: int, cols: int = 4, cell: tuple[float, float] = (3.6, 2.6)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = math.ceil(n / cols)
    fig = Figure(figsize=(cell[0] * cols, cell[1] * rows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(rows, cols, k + 1) for k in range(n)]


def feature_histograms(gen_feats: list, ref_feats: list) -> str:
    """One panel per feature: generated vs reference (densities; mean histograms for histogram features)."""
    names = list(SCALAR_FEATURES) + list(HISTOGRAM_FEATURES)
    fig, axes = _grid_figure(len(names))
    for ax, name in zip(axes, names):
        g, r = feature_matrix(gen_feats, name), feature_matrix(ref_feats, name)
        if name in SCALAR_FEATURES:
            both = np.concatenate([g[:, 0], r[:, 0]])
            bins = np.histogram_bin_edges(both, bins=20) if len(both) else 10
            ax.hist(r[:, 0], bins=bins, density=True, alpha=0.5, color="tab:blue", label="reference")
            ax.hist(g[:, 0], bins=bins, density=True, alpha=0.5, color="tab:orange", label="generated")
            ax.set_title(SCALAR_FEATURES[name], fontsize=9)
        else:
            labels = DURATION_SHORT if name == "duration_hist" else HISTOGRAM_FEATURES[name]
            x = np.arange(len(labels))
            ax.bar(x - 0.2, r.mean(axis=0) if len(r) else 0, 0.4, color="tab:blue", label="reference")
            ax.bar(x + 0.2, g.mean(axis=0) if len(g) else 0, 0.4, color="tab:orange", label="generated")
            step = 4 if len(labels) > 12 else 1
            ax.set_xticks(x[::step], labels[::step], fontsize=7, rotation=0 if step > 1 else 90)
            ax.set_title(name.replace("_", " ") + " (mean)", fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    return _png(fig)


def distance_densities(gen_feats: list, ref_feats: list, seed: int) -> str:
    """Per feature, the KDEs of reference intra-set, generated intra-set and inter-set distances."""
    names = list(SCALAR_FEATURES) + list(HISTOGRAM_FEATURES)
    fig, axes = _grid_figure(len(names))
    colours = {"reference intra-set": "tab:blue", "generated intra-set": "tab:orange", "inter-set": "tab:green"}
    for ax, name in zip(axes, names):
        d = compare.distance_samples(feature_matrix(gen_feats, name), feature_matrix(ref_feats, name), seed)
        usable = [v for v in d.values() if len(v) > 1]
        if len(usable) < 2:
            ax.set_title(f"{name} (too few pieces)", fontsize=9)
            continue
        grid = compare.common_grid(*usable[:2])
        peaks = []
        for label, values in d.items():
            if len(values) > 1:
                density = compare.kde(values, grid)
                ax.plot(grid, density, color=colours[label], label=label)
                peaks.append(float(density.max()))
        ax.set_ylim(0, 1.1 * min(max(peaks), 4 * float(np.median(peaks))))  # a spike (a constant set) is cut
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    return _png(fig)


def audio_uri(sample: Sample, soundfont: str | None) -> str | None:
    """The first AUDIO_SECONDS of a sample as a mono FLAC data URI (None when it cannot be rendered)."""
    try:
        flac = clip_flac(sample.score, AUDIO_SECONDS, soundfont)
    except TunesmithError:
        return None
    return "data:audio/flac;base64," + base64.b64encode(flac).decode()


def pianoroll_uri(sample: Sample) -> str:
    from tunesmith.pianoroll import pianoroll_figure

    return _png(pianoroll_figure(sample.score, max_seconds=AUDIO_SECONDS))


# ---- the page -----------------------------------------------------------------------------------

STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child,td.t{text-align:left}.headline td{font-size:15px}
img{max-width:100%}.sample{margin:1.5em 0;padding:1em;border:1px solid #ddd;border-radius:6px}
.sample audio,.sample img{display:block;margin:0.5em 0}
.note{color:#666;font-size:13px;max-width:900px}"""


class Share(float):
    """A proportion, shown as a percentage."""


class Count(float):
    """A number of things (a median may fall between two), shown without decimals when whole."""


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, Share):
        return f"{v:.1%}"
    if isinstance(v, Count):
        return f"{v:.0f}" if v.is_integer() else f"{v:.1f}"
    if isinstance(v, float):
        return f"{v:.3f}"
    return html.escape(str(v))


def _cell(v) -> str:
    text = isinstance(v, str) and not v[:1].isdigit()
    return f'<td class="t">{_fmt(v)}</td>' if text else f"<td>{_fmt(v)}</td>"


def _table(header: list[str], rows: list[list], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(c) for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><tr>{head}</tr>{body}</table>'


def _feature_rows(report: dict) -> list[list]:
    rows = []
    for f, c in zip(report["features"], report["real_vs_real"]):
        spread = ("histogram", "histogram")
        if isinstance(f["generated_mean"], float):
            spread = (f"{f['generated_mean']:.3f} ± {f['generated_std']:.3f}",
                      f"{f['reference_mean']:.3f} ± {f['reference_std']:.3f}")
        rows.append([f["feature"], *spread, f["oa"], c["oa"], f["kl"], c["kl"], f["oa_generated"], f["value_oa"]])
    return rows


def _headline_rows(report: dict) -> list[list]:
    names = {"valid_share": "valid samples (share)", "stuck_share": "samples stuck in a loop (≥ 4 bars on 2 pitches)",
             "reference_stuck_share": "… reference pieces",
             "unplayable_onsets": "keyboard onsets no two hands can play (share)",
             "reference_unplayable_onsets": "… reference pieces", "mean_overlap_area": "mean overlap area (Yang & Lerch)",
             "mean_overlap_area_real_vs_real": "… real vs real (ceiling)", "median_kl": "median KL over features (nats)",
             "median_kl_real_vs_real": "… real vs real (floor)",
             "median_longest_copied_notes": "median longest passage shared with training (notes)",
             "share_copying_4_bars": "samples copying ≥ 4 bars",
             "reference_share_copying_4_bars": "… real held-out pieces",
             "style_share_as_asked": "samples classified as the style asked for",
             "style_classifier_accuracy": "style classifier held-out accuracy",
             "style_majority_baseline": "… majority-class baseline"}
    shares = {"valid_share", "stuck_share", "reference_stuck_share", "unplayable_onsets", "reference_unplayable_onsets",
              "share_copying_4_bars", "reference_share_copying_4_bars", "style_share_as_asked",
              "style_classifier_accuracy", "style_majority_baseline"}
    kinds = {k: Share for k in shares} | {"median_longest_copied_notes": Count}
    return [[names.get(k, k), kinds[k](v) if k in kinds and v is not None else v] for k, v in report["headline"].items()]


def _novelty_section(report: dict) -> str:
    if "novelty" not in report:
        return "<p class=note>No --train dataset given: novelty and style were not measured.</p>"
    nv = report["novelty"]
    rows = sorted(nv["generated"]["per_sample"], key=lambda r: -r["notes"])[:12]
    summary = [[k, nv[k]["samples"], Count(nv[k]["median_longest_notes"]), Count(nv[k]["max_longest_notes"]),
                Share(nv[k]["share_copying"])]
               for k in ("generated", "reference")]
    return ("<h2>Novelty against the training set</h2>"
            f"<p class=note>Longest passage (notes, transposition-invariant, all parts together) each piece shares "
            f"with any training piece of {html.escape(nv['train'])}; passages shorter than "
            f"{nv['generated']['min_detectable_notes']} notes count as 0. Real held-out pieces give the baseline.</p>"
            + _table(["set", "pieces", "median longest (notes)", "max (notes)", "share copying ≥ 4 bars"], summary)
            + _table(["sample", "longest (notes)", "bars", "training piece"],
                     [[r["sample"], r["notes"], r["bars"] if r["notes"] else None, r["piece"]] for r in rows]))


def _style_section(report: dict) -> str:
    st = report.get("style")
    if not st:
        return ""
    if "skipped" in st:
        return f"<h2>Style</h2><p class=note>Classifier not trained: {html.escape(st['skipped'])}.</p>"
    held, cv = st["heldout"], st["crossval"]
    out = (f"<h2>Style ({html.escape(st['field'])})</h2><p class=note>Logistic regression on statistics of "
           f"{st['excerpt_bars']}-bar excerpts (pitch classes absolute and relative to the tonic, intervals, durations, "
           f"chords, onsets, register, tempo), trained on {st['train_excerpts']} excerpts of {st['train_pieces']} real "
           f"pieces of {len(st['classes'])} labels; held-out accuracy {held['accuracy']:.1%} on {held['excerpts']} "
           f"excerpts of {held['pieces']} pieces ({html.escape(held['source'])}; majority baseline "
           f"{held['majority_baseline']:.1%}); {cv['folds']}-fold cross-validated by piece {cv['accuracy']:.1%}. "
           f"A piece longer than an excerpt is classified by the mean over its excerpts.</p>")
    ceiling = cv["per_class"]
    for which in ("generated", "reference"):
        per = st[which]["per_class"]
        rows = [[label, r["asked"], Share(r["as_asked"] / r["asked"]),
                 Share(ceiling[label]["as_asked"] / ceiling[label]["asked"]) if label in ceiling else None]
                for label, r in sorted(per.items())]
        label = "label asked for" if which == "generated" else "label"
        out += f"<h3>{which}</h3>" + (_table([label, "pieces", "classified as that label",
                                              "real excerpts so classified (cross-validated)"], rows) if rows
                                       else "<p class=note>No piece asked for a label the classifier knows.</p>")
    return out


def _samples_section(samples: list[Sample], count: int, soundfont: str | None) -> str:
    shown = [s for s in samples if s.score is not None and s.score.note_num()][:count]
    parts = ["<h2>Listen</h2>"]
    for s in shown:
        audio = audio_uri(s, soundfont)
        player = f'<audio controls preload="none" src="{audio}"></audio>' if audio else "<p>(no audio)</p>"
        parts.append(f'<div class="sample"><h3>{html.escape(s.name)}</h3>{player}'
                     f'<img alt="piano roll of {html.escape(s.name)}" src="{pianoroll_uri(s)}"></div>')
    return "".join(parts)


def render_html(report: dict, gen: PieceSet, gen_feats: list, ref_feats: list, opts: SamplesOptions) -> str:
    val = report["validity"]
    columns = ("decodes", "non_empty", "bars_ok", "valid", "stuck", "unplayable")
    validity_rows = [[k, v["samples"], *(Share(v[c]) for c in columns),
                      "; ".join(v["problems"][:3])] for k, v in val.items()]
    body = [
        "<h1>tunesmith evaluation</h1>",
        f"<p>generated: <b>{html.escape(report['generated']['set'])}</b> ({report['generated']['pieces']} pieces) · "
        f"reference: <b>{html.escape(report['reference']['set'])}</b> ({report['reference']['pieces']} pieces)</p>",
        "<h2>Headline</h2>", _table(["figure", "value"], _headline_rows(report), "headline"),
        "<h2>Features: generated vs reference</h2>",
        f'<img alt="feature histograms" src="{feature_histograms(gen_feats, ref_feats)}">',
        "<h2>Set comparison (Yang & Lerch 2018)</h2>",
        "<p class=note>OA / KL: overlap area and KL divergence between the reference set's intra-set distances and "
        "the generated-vs-reference inter-set distances (Gaussian KDEs on one common grid). Real vs real: the same for two "
        "disjoint halves of the reference set, the best a generator can expect. Value OA: overlap of the feature's own "
        "densities.</p>",
        _table(["feature", "generated mean ± sd", "reference mean ± sd", "OA", "OA real vs real", "KL", "KL real vs real",
                "OA (generated intra)", "value OA"], _feature_rows(report)),
        f'<img alt="distance densities" src="{distance_densities(gen_feats, ref_feats, opts.seed)}">',
        "<h2>Validity</h2>",
        _table(["set", "pieces", "decode", "non-empty", "bars well-formed", "valid", "stuck in a loop",
                "unplayable keyboard onsets", "problems"], validity_rows),
        "<p class=note>Well-formed bars: valid time signatures, every onset on a 1/48-quarter grid, no empty bar inside "
        "the piece. Stuck in a loop: for 4 bars in a row, two pitches make 85% of the notes (one note hammered, two "
        "trilled; tunesmith.adherence.longest_stuck_run), which real music seldom does (a share of the pieces). "
        "Unplayable keyboard onsets: notes a piano strikes together that no two hands of five fingers reaching a "
        "tenth can (tunesmith.ops.fits_two_hands; a share of the keyboard onsets).</p>",
        _novelty_section(report), _style_section(report), _samples_section(gen.samples, opts.listen, opts.soundfont),
    ]
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>tunesmith evaluation</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    return obj


def evaluate_samples(generated: str | Path, reference: str | Path, out: str | Path,
                     opts: SamplesOptions = SamplesOptions(), progress: bool = True) -> str:
    """Measure, write out/report.json and out/report.html; returns the headline as text."""
    out = Path(out)
    gen = load_set(generated, opts.split, opts.max_pieces, opts.seed, progress)
    ref = load_set(reference, opts.split, opts.max_pieces, opts.seed, progress)
    report, gen_feats, ref_feats = measure(gen, ref, opts, progress)
    write_json(out / "report.json", _jsonable(report))
    write_text(out / "report.html", render_html(report, gen, gen_feats, ref_feats, opts))
    return format_headline(report) + f"\nwritten: {out / 'report.json'}, {out / 'report.html'}"
