"""The dataset builder on real music: counts, de-duplication before the split, no leaks, skip report, cache."""

import json
import shutil

import numpy as np
import pytest

from conftest import corpus_score
from tunesmith.data.build import SPLITS, build_dataset, split_of
from tunesmith.data.dataset import Dataset
from tunesmith.fileio import read_jsonl

def test_chorale_dataset_is_complete(chorale_dataset):
    manifest = json.loads((chorale_dataset / "manifest.json").read_text())
    records = read_jsonl(chorale_dataset / "pieces.jsonl")
    assert manifest["kept"] == len(records) > 30
    for split in SPLITS:
        tokens = np.load(chorale_dataset / "tokens" / f"{split}.npy")
        mine = [r for r in records if r["split"] == split]
        assert len(tokens) == sum(r["n_tokens"] for r in mine) == manifest["splits"][split]["tokens"]
    r = records[0]
    for field in ("source", "collection", "composer", "genre", "key", "time_signatures", "tempo", "programs",
                  "duration", "n_notes", "content_hash", "split"):
        assert field in r
    assert r["collection"] == "bach" and r["genre"] == "chorale"
    # the tokenizer saved with the dataset knows the labels of its training split
    tok = Dataset(chorale_dataset).tokenizer()
    assert "bach" in tok.controls.composers and "chorale" in tok.controls.genres

def test_stored_tokens_decode_to_the_piece(chorale_dataset):
    ds = Dataset(chorale_dataset)
    tok = ds.tokenizer()
    piece = ds.pieces("train")[0]
    score = tok.decode(piece.ids.tolist())
    assert score.note_num() == piece.meta["n_notes"]

@pytest.fixture()
def folder_with_duplicates(tmp_path):
    """Six chorales, one copied under another name, one transposed and slowed, plus junk."""
    src = tmp_path / "music"
    src.mkdir()
    for i, name in enumerate(["bach/bwv66.6", "bach/bwv10.7", "bach/bwv11.6", "bach/bwv101.7", "bach/bwv102.7",
                              "bach/bwv103.6"]):
        corpus_score(name).dump_midi(str(src / f"c{i}.mid"))
    shutil.copy(src / "c0.mid", src / "copy_of_c0.mid")
    moved = corpus_score("bach/bwv10.7").shift_pitch(3)
    for t in moved.tempos:
        t.qpm = t.qpm * 0.7
    moved.dump_midi(str(src / "c1_transposed_slower.mid"))
    (src / "zz_corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06 definitely not midi")
    (src / "empty.mid").write_bytes(b"")
    (src / "notes.txt").write_text("not music")
    return src

def test_duplicates_removed_before_split_and_no_leak(folder_with_duplicates, tmp_path):
    out = tmp_path / "ds"
    report = build_dataset([str(folder_with_duplicates)], out, workers=2, use_cache=False, progress=False)
    assert report.pieces_read == 8 and report.kept == 6 and report.duplicates == 2 and report.skipped == 2
    dups = read_jsonl(out / "duplicates.jsonl")
    assert {d["piece"].split("/")[-1] for d in dups} == {"copy_of_c0.mid#0", "c1_transposed_slower.mid#0"}
    records = read_jsonl(out / "pieces.jsonl")
    hashes = {}
    for r in records:
        assert r["content_hash"] not in hashes  # one copy of each piece, so no piece spans two splits
        hashes[r["content_hash"]] = r["split"]
        assert r["split"] == split_of(r["content_hash"])

def test_bad_files_are_reported_not_fatal(folder_with_duplicates, tmp_path):
    out = tmp_path / "ds"
    build_dataset([str(folder_with_duplicates)], out, workers=1, use_cache=False, progress=False)
    skipped = {s["source"].split("/")[-1]: s["reason"] for s in read_jsonl(out / "skipped.jsonl")}
    assert set(skipped) == {"zz_corrupt.mid", "empty.mid"}
    assert all(reason for reason in skipped.values())

def test_split_is_stable_when_files_are_added(folder_with_duplicates, tmp_path):
    build_dataset([str(folder_with_duplicates)], tmp_path / "a", workers=1, use_cache=False, progress=False)
    corpus_score("bach/bwv104.6").dump_midi(str(folder_with_duplicates / "new.mid"))
    build_dataset([str(folder_with_duplicates)], tmp_path / "b", workers=1, use_cache=False, progress=False)
    before = {r["id"]: r["split"] for r in read_jsonl(tmp_path / "a" / "pieces.jsonl")}
    after = {r["id"]: r["split"] for r in read_jsonl(tmp_path / "b" / "pieces.jsonl")}
    assert len(after) == len(before) + 1
    assert all(after[k] == v for k, v in before.items())

def test_rebuild_reads_the_cache(folder_with_duplicates, tmp_path):
    cache = tmp_path / "cache"
    first = build_dataset([str(folder_with_duplicates)], tmp_path / "ds", workers=1, cache_dir=cache, progress=False)
    second = build_dataset([str(folder_with_duplicates)], tmp_path / "ds", workers=1, cache_dir=cache, progress=False)
    assert first.cached_files == 0 and second.cached_files == first.files
    assert (tmp_path / "ds" / "pieces.jsonl").read_text() == (tmp_path / "ds" / "pieces.jsonl").read_text()
    assert second.kept == first.kept and second.skipped == first.skipped
    # a file that changes is read again
    corpus_score("bach/bwv104.6").dump_midi(str(folder_with_duplicates / "c5.mid"))
    third = build_dataset([str(folder_with_duplicates)], tmp_path / "ds", workers=1, cache_dir=cache, progress=False)
    assert third.cached_files == first.files - 1

def test_split_fractions():
    splits = [split_of(f"{i:016x}") for i in range(4000)]
    assert 0.86 < splits.count("train") / 4000 < 0.94
    assert 0.03 < splits.count("validation") / 4000 < 0.07
