"""Data: source files (music21 corpus, MIDI, MusicXML/ABC/kern) -> pieces with metadata -> dataset folders.

- sources.py  which files a source names, with their collection and labels
- load.py     one file -> symusic scores + metadata (music21 for notation formats)
- metadata.py the metadata record, musical content hash, key estimation
- build.py    the dataset builder (cache, de-duplication, split, token shards, skip report)
- dataset.py  reading a dataset folder and making training sequences
"""
