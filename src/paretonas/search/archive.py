"""Per-trial archive: everything needed to rebuild, retrain or audit one trial, alone.

``trials/<number>/``: ``model.yaml`` (the exact spec, input size and classes included),
``hparams.yaml``, ``metrics.json`` and, for trained trials, ``weights.pt`` (a dict with the
spec inside, loadable with ``torch.load(..., weights_only=True)``). Every write is atomic.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import torch
import yaml

from paretonas import __version__
from paretonas.models import ModelSpec
from paretonas.yamlio import atomic_write_bytes, atomic_write_text, read_yaml


def trial_dir(study_dir: str | os.PathLike, number: int) -> Path:
    return Path(study_dir) / "trials" / str(number)


def config_hash(spec_yaml: str, hparams: dict[str, Any]) -> str:
    """The identity of a trial's configuration: its ``model.yaml`` text and its hparams.
    Identical configurations share it (a repeat reuses the first one's values), and finalize
    recomputes it to detect an archive edited after the search."""
    text = spec_yaml + json.dumps(hparams, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_config(directory: Path, spec: ModelSpec, hparams: dict[str, Any]) -> None:
    spec.save(directory / "model.yaml")
    atomic_write_text(directory / "hparams.yaml", yaml.safe_dump(hparams, sort_keys=True))


def write_metrics(directory: Path, metrics: dict[str, Any]) -> None:
    record = {"paretonas_version": __version__, **metrics}
    atomic_write_text(directory / "metrics.json", json.dumps(record, indent=2, sort_keys=True))


def write_weights(
    directory: Path, spec: ModelSpec, hparams: dict, state_dict: dict, extra: dict | None = None
) -> Path:
    """Self-describing checkpoint: the spec that builds the network travels with the weights."""
    payload = {
        "format": "paretonas-weights-1",
        "paretonas_version": __version__,
        "spec": spec.to_dict(),
        "hparams": hparams,
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
        **(extra or {}),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(directory / "weights.pt", buffer.getvalue())


def load_weights(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``: tensors and plain data only)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def load_trial(directory: str | os.PathLike) -> tuple[ModelSpec, dict[str, Any], dict[str, Any]]:
    """(spec, hparams, metrics) of an archived trial."""
    directory = Path(directory)
    spec = ModelSpec.from_yaml(directory / "model.yaml")
    hparams = read_yaml(directory / "hparams.yaml")
    metrics_path = directory / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    return spec, hparams, metrics
