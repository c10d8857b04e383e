"""Tests for tunesmith.data.sources: which files a source names, with collection and labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import symusic

from tunesmith.data.sources import (
    MUSIC_EXTENSIONS,
    SourceFile,
    Skip,
    count_ignored_files,
    iter_source_files,
    scan_sources,
)
from tunesmith.errors import BadInputError


def write_midi(path: Path, pitch: int = 60) -> Path:
    """A tiny valid MIDI file with one note."""
    score = symusic.Score(480)
    track = symusic.Track(program=0, is_drum=False, name="p")
    track.notes.append(symusic.Note(0, 480, pitch, 80))
    score.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    score.dump_midi(str(path))
    return path


def test_music21_collection_lists_its_files_with_display_names():
    files, skipped = iter_source_files(["music21:bach"])
    assert len(files) > 300
    assert all(f.collection == "bach" for f in files)
    assert all(f.display.startswith("music21:bach/") for f in files)
    assert all(Path(f.path).is_absolute() and Path(f.path).is_file() for f in files)
    assert "music21:bach/bwv66.6.mxl" in {f.display for f in files}
    assert [f.display for f in files] == sorted(f.display for f in files)
    assert all(Path(f.path).suffix.lower() in MUSIC_EXTENSIONS for f in files)


def test_music21_romantext_analyses_become_skips():
    files, skipped = iter_source_files(["music21:bach"])
    rntxt = [s for s in skipped if s.source.endswith(".rntxt")]
    assert rntxt, "the bach collection holds RomanText analyses"
    assert all(isinstance(s, Skip) and "RomanText" in s.reason for s in rntxt)
    assert not any(f.path.endswith(".rntxt") for f in files)


def test_music21_several_collections_and_case():
    files, _ = iter_source_files(["music21:Palestrina,oneills1850"])
    assert {f.collection for f in files} == {"palestrina", "oneills1850"}


def test_whole_music21_corpus():
    files, skipped = iter_source_files(["music21"])
    collections = {f.collection for f in files}
    assert {"bach", "palestrina", "essenFolksong", "ryansMammoth", "oneills1850"} <= collections
    assert len(files) > 3000


def test_unknown_music21_collection_names_the_valid_ones():
    with pytest.raises(BadInputError) as err:
        iter_source_files(["music21:xyz"])
    assert "xyz" in str(err.value) and "bach" in str(err.value)


def test_missing_source_raises():
    with pytest.raises(BadInputError, match="no such file or folder"):
        iter_source_files(["/nonexistent/folder/x"])


def test_folder_with_subfolders_and_metadata_csv(tmp_path):
    root = tmp_path / "mydata"
    write_midi(root / "chopin" / "a.mid")
    write_midi(root / "chopin" / "b.MIDI")
    write_midi(root / "liszt" / "c.mid")
    (root / "metadata.csv").write_text(
        "path,composer,title,genre,year\n"
        "chopin/a.mid,Frédéric Chopin,Nocturne,nocturne,\n"
        "/elsewhere/mydata/liszt/c.mid,Franz Liszt,Etude,,1838\n"
    )
    files, skipped = iter_source_files([str(root)])
    assert skipped == []
    by_name = {Path(f.path).name: f for f in files}
    assert set(by_name) == {"a.mid", "b.MIDI", "c.mid"}
    assert dict(by_name["a.mid"].labels) == {"composer": "Frédéric Chopin", "title": "Nocturne", "genre": "nocturne"}
    # tail match of an absolute path from another machine; empty cells are left out
    assert dict(by_name["c.mid"].labels) == {"composer": "Franz Liszt", "title": "Etude", "year": "1838"}
    # not in the CSV: composer from its sub-folder
    assert dict(by_name["b.MIDI"].labels) == {"composer": "chopin"}
    assert all(f.collection == "mydata" for f in files)
    assert by_name["a.mid"].display == str(root / "chopin" / "a.mid")


def test_folder_metadata_jsonl(tmp_path):
    write_midi(tmp_path / "x" / "1.mid")
    rows = [{"path": "x/1.mid", "composer": "Bach", "n": 3}]
    (tmp_path / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    files, _ = iter_source_files([str(tmp_path)])
    assert dict(files[0].labels) == {"composer": "Bach"}  # only string columns


def test_subfolder_composer_only_for_names_with_letters(tmp_path):
    write_midi(tmp_path / "pop909" / "001" / "001.mid")
    write_midi(tmp_path / "pianomidi" / "Chopin" / "x.mid")
    pop, _ = iter_source_files([str(tmp_path / "pop909")])
    piano, _ = iter_source_files([str(tmp_path / "pianomidi")])
    assert pop[0].labels == ()
    assert dict(piano[0].labels) == {"composer": "chopin"}


def test_non_music_files_are_ignored_and_counted(tmp_path):
    write_midi(tmp_path / "a.mid")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "cover.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "list.csv").write_text("a,b\n")
    (tmp_path / ".hidden.mid").write_bytes(b"")
    (tmp_path / "analysis.rntxt").write_text("Composer: x\n")
    scan = scan_sources([str(tmp_path)])
    assert [Path(f.path).name for f in scan.files] == ["a.mid"]
    assert len(scan.ignored) == 3
    assert count_ignored_files([str(tmp_path)]) == 3
    assert [Path(s.source).name for s in scan.skipped] == ["analysis.rntxt"]


def test_single_file_source(tmp_path):
    path = write_midi(tmp_path / "band" / "song.mid")
    files, skipped = iter_source_files([str(path)])
    assert files == [SourceFile(str(path.resolve()), str(path), "band")]
    with pytest.raises(BadInputError, match="not a music file"):
        (tmp_path / "x.txt").write_text("x")
        iter_source_files([str(tmp_path / "x.txt")])


def test_same_file_from_two_sources_is_listed_once(tmp_path):
    path = write_midi(tmp_path / "a.mid")
    files, _ = iter_source_files([str(tmp_path), str(path)])
    assert len(files) == 1


def test_metadata_csv_without_path_column_raises(tmp_path):
    write_midi(tmp_path / "a.mid")
    (tmp_path / "metadata.csv").write_text("name,composer\na.mid,Bach\n")
    with pytest.raises(BadInputError, match="path column"):
        iter_source_files([str(tmp_path)])


def test_order_is_deterministic(tmp_path):
    for name in ["b/2.mid", "a/10.mid", "a/1.mid", "c.mid"]:
        write_midi(tmp_path / name)
    first, _ = iter_source_files([str(tmp_path)])
    second, _ = iter_source_files([str(tmp_path)])
    assert first == second
    assert [Path(f.path).relative_to(tmp_path).as_posix() for f in first] == ["a/1.mid", "a/10.mid", "b/2.mid", "c.mid"]
