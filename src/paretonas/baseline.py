"""A plain CNN on the finalists' splits, trained the way finalize trains a finalist: the bar
the search should clear, which the report shows beside the finalists.

The network is fixed (three 3x3 convolutions of 32, 64 and 128 channels, the last two
strided, global pooling, a linear head) and so are its hyperparameters (AdamW, cosine
schedule); its augmentation is the search space's fixed ``hparams.augment`` over the data's
default, as every trial of the search has it. It is archived as a trial would be and
retrained by ``finalize``, so the budget, early stopping, best-epoch rule and test are the
finalists' own.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import yaml

from paretonas import __version__
from paretonas.data import load_manifest
from paretonas.finalize import finalize
from paretonas.models import ModelSpec, build_model, count_params
from paretonas.yamlio import atomic_write_text, read_yaml

_logger = logging.getLogger(__name__)

CHANNELS = (32, 64, 128)  # one 3x3 Conv (BatchNorm, ReLU) each; all but the first stride 2
HPARAMS: dict[str, Any] = {
    "optimizer": "adamw",
    "lr": 0.003,
    "weight_decay": 0.0001,
    "batch_size": 64,
    "label_smoothing": 0.0,
    "schedule": "cosine",
}
NAME = "baseline"  # the trial number its metrics.json records


def baseline_spec(channels: int, height: int, width: int, classes: int) -> ModelSpec:
    """The plain CNN for ``channels`` x ``height`` x ``width`` inputs and ``classes``."""
    rows: list[list[Any]] = [
        [1, "Conv", [out, 3, 1 if i == 0 else 2, None, 1, "ReLU"]] for i, out in enumerate(CHANNELS)
    ]
    rows += [[1, "GlobalAvgPool", []], [1, "Flatten", []], [1, "Linear", [classes]]]
    return ModelSpec.from_dict(
        {
            "input_channel": channels,
            "depth_multiple": 1.0,
            "width_multiple": 1.0,
            "input_size": [height, width],
            "description": "paretonas baseline: a plain 3-conv CNN",
            "backbone": rows,
        },
        "baseline",
    )


def space_augment(space_yaml: str | os.PathLike) -> dict[str, Any]:
    """The keys of the space's ``hparams.augment`` that are fixed (a scalar, not searched)."""
    augment = (read_yaml(space_yaml).get("hparams") or {}).get("augment") or {}
    return {
        key: value
        for key, value in augment.items()
        if isinstance(value, (bool, int, float)) and not isinstance(value, dict)
    }


def train_baseline(
    space_yaml: str | os.PathLike,
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    **options: Any,
) -> dict[str, Any]:
    """Archive the plain CNN in ``out_dir/archive`` and retrain it with ``finalize``
    (``options``: finalize's ``epochs``, ``steps``, ``device``, ``threads``, ...); return its
    metrics (also in ``out_dir/metrics.json``). It is not exported."""
    out_dir = Path(out_dir)
    manifest = load_manifest(data_dir)
    channels, height, width = manifest["input_shape"]
    spec = baseline_spec(channels, height, width, manifest["num_classes"])
    hparams = {**HPARAMS, "augment": space_augment(space_yaml)}
    archive = out_dir / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    spec.save(archive / "model.yaml")
    atomic_write_text(archive / "hparams.yaml", yaml.safe_dump(hparams, sort_keys=True))
    record = {
        "number": NAME,
        "seed": seed,
        "costs": {"params": count_params(build_model(spec))},
        "paretonas_version": __version__,
    }
    atomic_write_text(archive / "metrics.json", json.dumps(record, indent=2) + "\n")
    return finalize(
        archive,
        data_dir,
        out_dir,
        selection={"rank": None, "why": "baseline: a plain 3-conv CNN"},
        **{**options, "export": False},
    )
