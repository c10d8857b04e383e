"""Atomic writes: whole or nothing, with the usual permissions."""

import os

import pytest

from tunesmith.fileio import atomic_dir, atomic_path, read_jsonl, write_json, write_jsonl


def test_written_files_and_folders_are_readable_by_others(tmp_path):
    mask = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        with atomic_dir(tmp_path / "d") as d:
            (d / "f").write_text("hi")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


def test_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "report.json"
    write_json(target, {"old": True})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert '"old": true' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_jsonl_round_trip(tmp_path):
    rows = [{"a": 1}, {"b": "ü"}]
    write_jsonl(tmp_path / "x.jsonl", rows)
    assert read_jsonl(tmp_path / "x.jsonl") == rows
