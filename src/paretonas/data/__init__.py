"""The data stage: read a source, split it stratified, write the split files and a manifest.

``prepare_data(config, out_dir)`` writes ``full/{train,val,test}.pt``, ``search/{train,val}.pt``
and ``manifest.json``; ``load_split`` and ``load_manifest`` read them back for training.
"""

from __future__ import annotations

from paretonas.data._prepare import prepare_data, split_rows, summary_line
from paretonas.data._sources import RawDataset, load_source
from paretonas.data._splits import allocate, channel_stats, search_subsample, stratified_split
from paretonas.data._store import (
    MANIFEST,
    SPLITS,
    load_manifest,
    load_split,
    load_split_file,
    split_path,
)

__all__ = [
    "MANIFEST",
    "SPLITS",
    "RawDataset",
    "allocate",
    "channel_stats",
    "load_manifest",
    "load_source",
    "load_split",
    "load_split_file",
    "prepare_data",
    "search_subsample",
    "split_path",
    "split_rows",
    "stratified_split",
    "summary_line",
]
