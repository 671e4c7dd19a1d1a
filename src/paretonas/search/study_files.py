"""The study's own files: ``study.json`` (identity, storage without secrets) and worker reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretonas import __version__
from paretonas.yamlio import atomic_write_text

if TYPE_CHECKING:
    from paretonas.search.worker import StudyHandle


def study_record(handle: StudyHandle, config: dict) -> dict[str, Any]:
    return {
        "name": handle.name,
        "directory": str(handle.directory),
        "storage": {"kind": handle.storage.kind, "url": handle.storage.redacted},
        "n_trials": config["search"]["n_trials"],
        "hashed": handle.payload,
        "paretonas_version": __version__,
    }


def write_study_json(handle: StudyHandle, config: dict, path: str | Path | None = None) -> Path:
    """``<study>/study.json``: what was hashed into the name; the storage URL redacted."""
    path = Path(path) if path else handle.directory / "study.json"
    return atomic_write_text(path, json.dumps(study_record(handle, config), indent=2) + "\n")


def write_worker_report(path: str | Path, report: dict[str, Any]) -> Path:
    return atomic_write_text(path, json.dumps(report, indent=2, sort_keys=True) + "\n")
