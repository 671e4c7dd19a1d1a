"""``prepare_data``: source -> stratified splits -> search subsample -> files + manifest.

Reads top to bottom: validate, load the source, split, subsample, compute normalization on
full/train, then write every file into a staging directory that replaces ``out_dir`` only
when all of it is written. Nothing here depends on the clock except the recorded wall time.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch

from paretonas import __version__
from paretonas.config import validate_config
from paretonas.data._sources import RawDataset, load_source, md5_bytes
from paretonas.data._splits import (
    channel_stats,
    check_fractions,
    per_class_counts,
    search_subsample,
    stratified_split,
)
from paretonas.data._store import (
    MANIFEST,
    SPLITS,
    manifest_bytes,
    serialize_split,
    staged_directory,
    write_file,
)
from paretonas.errors import DataError

_logger = logging.getLogger(__name__)


def prepare_data(config: dict[str, Any], out_dir: str | os.PathLike) -> dict[str, Any]:
    """Write the five split files and ``manifest.json`` under ``out_dir``; return the manifest.

    ``config`` is a whole workflow config (``seed`` and ``data`` are read); it is validated
    again here, which fills defaults and makes direct calls with partial dicts safe. On any
    error nothing is written and a previous ``out_dir`` is left as it was.
    """
    started = time.perf_counter()
    config = validate_config(config, "config")
    data_config, seed = config["data"], config["seed"]
    check_fractions(data_config)
    raw = load_source(data_config)
    if len(raw.class_names) < 2:
        where = data_config["path"] or data_config["source"]
        raise DataError(
            f"data.path: {where}: {len(raw.class_names)} class(es) {raw.class_names}; a "
            f"classifier needs at least 2 (imagefolder: one folder per class)"
        )
    _logger.info(
        "data: %s: %d images %s, %d classes (%.2f s)",
        data_config["source"],
        len(raw.labels),
        "x".join(map(str, raw.input_shape)),
        len(raw.class_names),
        time.perf_counter() - started,
    )
    rows = split_rows(raw, data_config, seed)
    outputs: dict[str, str] = {}
    normalization: dict[str, Any] = {}
    with staged_directory(out_dir) as staging:
        for split in SPLITS:
            index = torch.from_numpy(rows[split])
            images = raw.images[index]
            if split == "full/train":
                mean, std = channel_stats(images)
                normalization = {
                    "mean": mean,
                    "std": std,
                    "computed_on": "full/train",
                    "units": "pixel / 255",
                }
            data = serialize_split(images, raw.labels[index], index)
            outputs[f"{split}.pt"] = md5_bytes(data)
            write_file(staging / f"{split}.pt", data)
        manifest = build_manifest(raw, config, rows, normalization, outputs)
        manifest["wall_time_s"] = round(time.perf_counter() - started, 3)
        write_file(staging / MANIFEST, manifest_bytes(manifest))
    _logger.info("data: wrote %s: %s", out_dir, summary_line(manifest))
    return manifest


def split_rows(raw: RawDataset, data_config: dict[str, Any], seed: int) -> dict[str, np.ndarray]:
    """Sorted source row numbers of every split in :data:`SPLITS`."""
    labels = raw.labels.numpy()
    rows = stratified_split(
        labels,
        raw.class_names,
        data_config["test_fraction"],
        data_config["val_fraction"],
        seed,
    )
    for split in ("train", "val"):
        rows[f"search/{split}"] = search_subsample(
            labels,
            rows[f"full/{split}"],
            raw.class_names,
            data_config["search_fraction"],
            data_config.get("search_max_per_class"),
            seed,
            split,
            data_config.get("search_val_min_per_class") if split == "val" else None,
        )
    return rows


def build_manifest(
    raw: RawDataset,
    config: dict[str, Any],
    rows: dict[str, np.ndarray],
    normalization: dict[str, Any],
    outputs: dict[str, str],
) -> dict[str, Any]:
    """Everything needed to trust and reuse the splits: provenance, shapes, counts, md5s."""
    data_config = config["data"]
    labels = raw.labels.numpy()
    counts: dict[str, Any] = {
        "all": {"total": len(labels), "per_class": per_class_counts(labels, raw.class_names)}
    }
    for split in SPLITS:
        split_labels = labels[rows[split]]
        counts[split] = {
            "total": len(split_labels),
            "per_class": per_class_counts(split_labels, raw.class_names),
        }
    return {
        "paretonas_version": __version__,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": {"name": data_config["source"], "path": data_config["path"], "info": raw.info},
        "raw_md5": dict(sorted(raw.raw_md5.items())),
        "class_names": raw.class_names,
        "num_classes": len(raw.class_names),
        "input_shape": raw.input_shape,
        "counts": counts,
        "normalization": normalization,
        "seed": config["seed"],
        "data_config": data_config,
        "augment": data_config["augment"],
        "bad_files": raw.bad_files,
        "bad_file_count": len(raw.bad_files),
        "outputs": outputs,
    }


def summary_line(manifest: dict[str, Any]) -> str:
    """One line for logs: source, shape, per-split totals and the wall time."""
    counts = manifest["counts"]
    splits = ", ".join(f"{split} {counts[split]['total']}" for split in SPLITS)
    shape = "x".join(map(str, manifest["input_shape"]))
    bad = f", {manifest['bad_file_count']} unreadable skipped" if manifest["bad_file_count"] else ""
    return (
        f"{manifest['source']['name']}: {counts['all']['total']} images {shape}, "
        f"{manifest['num_classes']} classes -> {splits}{bad} ({manifest['wall_time_s']:.2f} s)"
    )
