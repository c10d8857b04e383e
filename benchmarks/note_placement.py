"""Where do the notes fall, in time and in pitch? Per folder of MIDI files: the share of notes on the
beat and on the eighth-note grid, and the register drift from the first to the last quarter of a piece.

    python benchmarks/note_placement.py runs/ss-g1/pop909 runs/ss-new/pop909 runs/ss-new/pianomidi ...

The grid shares check the POP909 re-barring (`tunesmith.data.beats`) where it matters to a listener: in
a model's samples. Every note counts (a chord's notes each count); its onset is read in quarter notes
from the start of the file (every meter tunesmith writes for these styles is N/4, so bars start on a
quarter). Chance, for onsets spread evenly over the tokenizer's 8 positions per beat: 12.5% on the
beat, 25% on the eighth-note grid.
Register drift: the mean pitch of the notes starting in the last quarter of a piece's duration minus
that of the first quarter, in semitones, as mean ± standard deviation over the folder's files.
The first folder is the baseline: "x baseline" is each folder's on-beat share divided by its.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import symusic

from tunesmith.evaluate.features import note_arrays


def placement(path: Path) -> tuple[np.ndarray, float]:
    """The onset of every note of the file in quarter notes, and its register drift: the mean pitch of
    the notes starting in the last quarter of the file minus that of the notes in the first quarter."""
    notes = note_arrays(symusic.Score(str(path)))
    if not len(notes.onset):
        return notes.onset, float("nan")
    end = notes.onset.max() + 1e-9
    late, early = notes.pitch[notes.onset >= 0.75 * end], notes.pitch[notes.onset < 0.25 * end]
    return notes.onset, float(late.mean() - early.mean())


def grid_shares(onsets: np.ndarray) -> tuple[float, float]:
    """(share on a quarter-note beat, share on the eighth-note grid) of onsets given in quarters."""
    if not len(onsets):
        return float("nan"), float("nan")
    on_beat = np.isclose(onsets, np.round(onsets), atol=1e-6)
    on_eighth = np.isclose(onsets * 2, np.round(onsets * 2), atol=1e-6)
    return float(on_beat.mean()), float(on_eighth.mean())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folders", nargs="+", type=Path, help="folders of .mid files; the first is the baseline")
    args = ap.parse_args(argv)
    rows = []
    for folder in args.folders:
        files = sorted(folder.glob("*.mid"))
        if not files:
            raise SystemExit(f"{folder}: no .mid files")
        onsets, drift = zip(*(placement(f) for f in files))
        beat, eighth = grid_shares(np.concatenate(onsets))
        drift = np.array(drift)
        rows.append((str(folder), len(files), sum(len(o) for o in onsets), beat, eighth,
                     f"{np.nanmean(drift):+.1f} ± {np.nanstd(drift):.1f}"))
    base = rows[0][3]
    print(f"{'folder':<40} {'files':>5} {'notes':>7} {'on beat':>8} {'on 8th':>7} {'x baseline':>10} {'drift (st)':>11}")
    for name, n, k, beat, eighth, drift in rows:
        print(f"{name:<40} {n:>5} {k:>7} {beat:>8.1%} {eighth:>7.1%} {beat / base:>10.2f} {drift:>11}")


if __name__ == "__main__":
    main()
