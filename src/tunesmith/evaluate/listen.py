"""Blind listening tests: `listen-test make` builds an A/B + MOS kit, `listen-test score` scores its ratings.

A kit folder:

    page/index.html      the test: per trial two clips (X, Y) in random order, "which do you prefer?"
                         and a 1-5 opinion score for each; a button downloads the ratings as CSV
    page/clips/*.flac    the clips, under random names that say nothing of their origin
    answer_key.json      which system (A or B) and which piece each clip is: keep it from raters
                         (serve only page/)

Ratings CSV (one row per trial): rater, trial, clip_x, clip_y, preference (x, y or none), mos_x, mos_y.
Scoring gives the share of decided trials won by A with a Wilson 95% interval and an exact binomial
test against 50%, and each system's mean opinion score with a t 95% interval. Each rating counts as
independent; with few raters, read the intervals as optimistic.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import random
from pathlib import Path

import numpy as np
import symusic

from tunesmith.errors import BadInputError, TunesmithError
from tunesmith.evaluate.features import Sample, load_set
from tunesmith.fileio import atomic_dir, write_json

CLIP_RATE = 22050
FADE_SECONDS = 0.5
RATING_COLUMNS = ("rater", "trial", "clip_x", "clip_y", "preference", "mos_x", "mos_y")


# ---- audio --------------------------------------------------------------------------------------

def render_mono(score: symusic.Score, soundfont: str | None = None, sample_rate: int = CLIP_RATE) -> np.ndarray:
    from tunesmith.audio import render

    return render(score, sample_rate=sample_rate, soundfont=soundfont).mean(axis=0)


def flac_bytes(mono: np.ndarray, seconds: float, sample_rate: int = CLIP_RATE) -> bytes:
    """The first `seconds` of mono audio as 16-bit FLAC, faded out where it is cut."""
    import soundfile

    cut = int(seconds * sample_rate)
    if len(mono) > cut:
        mono = mono[:cut].copy()
        fade = min(len(mono), int(FADE_SECONDS * sample_rate))
        mono[-fade:] *= np.linspace(1.0, 0.0, fade)
    buf = io.BytesIO()
    soundfile.write(buf, mono, sample_rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def clip_flac(score: symusic.Score, seconds: float, soundfont: str | None = None) -> bytes:
    """The first `seconds` of a score rendered to mono FLAC."""
    return flac_bytes(render_mono(score, soundfont), seconds)


# ---- making a kit -------------------------------------------------------------------------------

def _playable(samples: list[Sample]) -> list[Sample]:
    return [s for s in samples if s.score is not None and s.score.note_num() > 0]


def plan_trials(a: list[Sample], b: list[Sample], pairs: int, rng: random.Random) -> list[dict]:
    """Random pairs of one A and one B piece, each shown in a random order under random clip names."""
    n = min(pairs, len(a), len(b))
    if n == 0:
        raise TunesmithError("both folders need at least one playable piece")
    names = set()
    trials = []
    for k, (sa, sb) in enumerate(zip(rng.sample(a, n), rng.sample(b, n)), start=1):
        order = [("A", sa), ("B", sb)]
        rng.shuffle(order)
        clips = []
        for system, sample in order:
            name = f"{rng.getrandbits(40):010x}"
            while name in names:
                name = f"{rng.getrandbits(40):010x}"
            names.add(name)
            clips.append({"clip": name, "system": system, "piece": sample.name, "sample": sample})
        trials.append({"trial": k, "x": clips[0], "y": clips[1]})
    return trials


def make_kit(a_dir: str | Path, b_dir: str | Path, out: str | Path, pairs: int = 20, seed: int = 0,
             soundfont: str | None = None, max_seconds: float = 30.0, split: str = "validation") -> dict:
    """Render the clips, write page/ and answer_key.json into `out` (atomically)."""
    a = _playable(load_set(a_dir, split).samples)
    b = _playable(load_set(b_dir, split).samples)
    trials = plan_trials(a, b, pairs, random.Random(seed))
    out = Path(out)
    with atomic_dir(out) as tmp:
        clips = tmp / "page" / "clips"
        clips.mkdir(parents=True)
        for t in trials:  # both clips of a trial equally long: length must not give the system away
            audio = {side: render_mono(t[side]["sample"].score, soundfont) for side in ("x", "y")}
            seconds = min(max_seconds, *(len(v) / CLIP_RATE for v in audio.values()))
            for side in ("x", "y"):
                (clips / f"{t[side]['clip']}.flac").write_bytes(flac_bytes(audio[side], seconds))
                t[side]["seconds"] = round(seconds, 2)
        (tmp / "page" / "index.html").write_text(page_html(trials), encoding="utf-8")
        key = {"systems": {"A": str(a_dir), "B": str(b_dir)}, "seed": seed,
               "trials": {str(t["trial"]): {side: {k: v for k, v in t[side].items() if k != "sample"}
                                           for side in ("x", "y")} for t in trials}}
        write_json(tmp / "answer_key.json", key)
    return {"trials": len(trials), "page": str(out / "page"), "key": str(out / "answer_key.json")}


PAGE_SCRIPT = """
function csvCell(v){v=String(v);return /[",\\n]/.test(v)?'"'+v.replace(/"/g,'""')+'"':v;}
function download(){
  const rater=document.getElementById('rater').value.trim();
  if(!rater){alert('Please enter your name or an id first.');return;}
  const rows=[COLUMNS.join(',')];
  for(const t of TRIALS){
    const pref=document.querySelector('input[name="pref'+t.trial+'"]:checked');
    const mx=document.getElementById('mosx'+t.trial).value, my=document.getElementById('mosy'+t.trial).value;
    rows.push([rater,t.trial,t.x,t.y,pref?pref.value:'',mx,my].map(csvCell).join(','));
  }
  const blob=new Blob([rows.join('\\n')+'\\n'],{type:'text/csv'});
  const a=document.createElement('a');a.href=URL.createObjectURL(blob);
  a.download='ratings-'+rater.replace(/[^A-Za-z0-9_-]/g,'_')+'.csv';a.click();
}
"""


def _mos_select(ident: str) -> str:
    options = "".join(f'<option value="{v}">{v} {label}</option>' for v, label in
                      ((5, "excellent"), (4, "good"), (3, "fair"), (2, "poor"), (1, "bad")))
    return f'<select id="{ident}"><option value="">opinion…</option>{options}</select>'


def page_html(trials: list[dict]) -> str:
    """The static test page: players, preference and opinion scores, and the CSV download."""
    blocks = []
    for t in trials:
        k, x, y = t["trial"], t["x"]["clip"], t["y"]["clip"]
        blocks.append(
            f'<div class="trial"><h3>Trial {k}</h3>'
            f'<p>X <audio controls preload="none" src="clips/{html.escape(x)}.flac"></audio> {_mos_select(f"mosx{k}")}</p>'
            f'<p>Y <audio controls preload="none" src="clips/{html.escape(y)}.flac"></audio> {_mos_select(f"mosy{k}")}</p>'
            f'<p>Which do you prefer? <label><input type="radio" name="pref{k}" value="x"> X</label> '
            f'<label><input type="radio" name="pref{k}" value="y"> Y</label> '
            f'<label><input type="radio" name="pref{k}" value="none"> no preference</label></p></div>')
    data = json.dumps([{"trial": t["trial"], "x": t["x"]["clip"], "y": t["y"]["clip"]} for t in trials])
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Listening test</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto}.trial{border:1px solid #ddd;"
            "border-radius:6px;padding:0.5em 1em;margin:1em 0}audio{vertical-align:middle}</style></head><body>"
            "<h1>Listening test</h1><p>For each trial, listen to both clips, rate each (1 bad – 5 excellent) and "
            "say which you prefer. The clips are in random order. At the end, download your ratings and send "
            "the CSV file back.</p><p>Your name or id: <input id='rater'></p>" + "".join(blocks)
            + "<p><button onclick='download()'>Download ratings (CSV)</button></p><script>"
            + f"const TRIALS={data};const COLUMNS={json.dumps(list(RATING_COLUMNS))};" + PAGE_SCRIPT
            + "</script></body></html>")


# ---- scoring ------------------------------------------------------------------------------------

def wilson_interval(wins: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95% by default)."""
    if n == 0:
        return math.nan, math.nan
    p = wins / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(values: list[float]) -> dict:
    from scipy import stats

    n = len(values)
    if n == 0:
        return {"n": 0, "mean": math.nan, "low": math.nan, "high": math.nan}
    mean = float(np.mean(values))
    if n == 1:
        return {"n": 1, "mean": mean, "low": math.nan, "high": math.nan}
    half = float(stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return {"n": n, "mean": mean, "low": mean - half, "high": mean + half}


def read_ratings(paths: list[str | Path]) -> list[dict]:
    rows = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise BadInputError(path, "no such ratings file")
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in RATING_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise BadInputError(path, f"not a ratings CSV (missing columns: {', '.join(missing)})")
            rows += [dict(r, file=str(path)) for r in reader]
    return rows


def _opinion(text: str, path: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadInputError(path, f"opinion score {text!r} is not a number") from None
    if not 1 <= value <= 5:
        raise BadInputError(path, f"opinion score {value} is outside 1-5")
    return value


def score_ratings(kit: str | Path, ratings: list[str | Path]) -> dict:
    """Preference share of A (Wilson 95% interval, binomial test) and MOS per system."""
    from scipy.stats import binomtest

    key_path = Path(kit) / "answer_key.json"
    if not key_path.is_file():
        raise BadInputError(kit, "not a listening-test kit (no answer_key.json)")
    key = json.loads(key_path.read_text())
    wins = {"A": 0, "B": 0}
    ties, mos = 0, {"A": [], "B": []}
    raters = set()
    for row in read_ratings(ratings):
        trial = key["trials"].get(str(row["trial"]).strip())
        if trial is None or trial["x"]["clip"] != row["clip_x"] or trial["y"]["clip"] != row["clip_y"]:
            raise BadInputError(row["file"], f"trial {row['trial']} does not match this kit's answer key")
        raters.add(row["rater"])
        pref = row["preference"].strip().lower()
        if pref in ("x", "y"):
            wins[trial[pref]["system"]] += 1
        elif pref == "none":
            ties += 1
        for side in ("x", "y"):
            value = _opinion(row[f"mos_{side}"], row["file"])
            if value is not None:
                mos[trial[side]["system"]].append(value)
    decided = wins["A"] + wins["B"]
    low, high = wilson_interval(wins["A"], decided)
    return {
        "systems": key["systems"], "raters": len(raters), "decided": decided, "ties": ties,
        "wins": wins, "share_A": wins["A"] / decided if decided else math.nan, "share_A_95": [low, high],
        "binomial_p": float(binomtest(wins["A"], decided).pvalue) if decided else math.nan,
        "mos": {s: mean_interval(v) for s, v in mos.items()},
    }


def format_scores(r: dict) -> str:
    a, b = r["systems"]["A"], r["systems"]["B"]
    lo, hi = r["share_A_95"]
    lines = [f"A = {a}", f"B = {b}", f"{r['raters']} raters, {r['decided']} decided trials, {r['ties']} without preference",
             f"A preferred in {r['share_A']:.1%} of decided trials (95% CI {lo:.1%}-{hi:.1%}; "
             f"binomial p = {r['binomial_p']:.3g})"]
    for system in ("A", "B"):
        m = r["mos"][system]
        lines.append(f"MOS {system}: {m['mean']:.2f} (95% CI {m['low']:.2f}-{m['high']:.2f}, {m['n']} ratings)")
    return "\n".join(lines)
