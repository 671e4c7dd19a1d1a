"""The report's inputs: the study (from study.json), finalists.yaml and each finalist's
metrics.json, merged into one row per finalist."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paretonas.errors import ConfigError
from paretonas.yamlio import read_yaml

_logger = logging.getLogger(__name__)


class ReportError(ConfigError):
    """An input of the report is missing, malformed or does not match the others."""


@dataclass
class FinalistRow:
    """One finalist slot: what select chose and why (or why it is empty), and how the model
    did on the test split. ``latency_ms`` is the profile step's figure (finalists.yaml's)."""

    rank: int
    trial: int | None
    why: str = ""
    archive: str = ""
    advice: str = ""
    test_accuracy: float | None = None
    test_f1_macro: float | None = None
    test_f1_interval: tuple[float, float] | None = None
    params: int | None = None
    macs: int | None = None
    latency_ms: float | None = None
    search_val_f1: float | None = None
    search_f1_se: float | None = None
    confusion: list[list[int]] | None = None
    class_names: list[str] = field(default_factory=list)
    metrics_path: str = ""

    @property
    def empty(self) -> bool:
        return self.trial is None


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: cannot read as JSON: {exc}") from None


def read_finalists(path: str | os.PathLike) -> dict[str, Any]:
    """finalists.yaml, checked for what the report reads (rank and trial of each finalist)."""
    data = read_yaml(path, error=ReportError)
    if not isinstance(data, dict) or not isinstance(data.get("finalists"), list):
        raise ReportError(f"{path}: expected a mapping with a 'finalists' list")
    for i, item in enumerate(data["finalists"]):
        if not isinstance(item, dict) or not {"rank", "trial"} <= item.keys():
            raise ReportError(f"{path}: finalists[{i}]: needs 'rank' and 'trial', got {item!r}")
    return data


def _get(data: dict[str, Any], source: str, key: str) -> Any:
    """``data[key]`` (dotted), or None with a warning naming the file and key."""
    value: Any = data
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            _logger.warning("%s: no %s", source, key)
            return None
        value = value[part]
    return value


def finalist_rows(
    finalists: dict[str, Any], metrics_paths: list[str | os.PathLike]
) -> list[FinalistRow]:
    """One row per slot of finalists.yaml, filled from its metrics.json (matched by rank).

    A finalist without metrics keeps empty test columns; metrics of a rank or trial that
    finalists.yaml does not list are stale inputs and an error.
    """
    rows = {}
    for item in finalists["finalists"]:
        values = item.get("values") or {}
        trial = item.get("trial")
        rows[int(item["rank"])] = FinalistRow(
            rank=int(item["rank"]),
            trial=None if trial is None else int(trial),
            why=str(item.get("why", "")),
            archive=str(item.get("archive") or ""),
            advice=str(item.get("advice") or ""),
            params=values.get("params"),
            macs=values.get("macs"),
            latency_ms=values.get("latency_ms"),
            search_val_f1=values.get("f1"),
            search_f1_se=item.get("f1_se"),
        )
    for path in metrics_paths:
        source = str(path)
        data = read_json(path)
        if not isinstance(data, dict) or "rank" not in data or "trial" not in data:
            raise ReportError(f"{source}: expected a metrics mapping with 'rank' and 'trial'")
        row = rows.get(int(data["rank"]))
        trial = data["trial"]
        if row is None or row.trial != (None if trial is None else int(trial)):
            listed = {r.rank: r.trial for r in rows.values()}
            raise ReportError(
                f"{source}: rank {data['rank']} trial {trial} is not a finalist of "
                f"finalists.yaml (rank: trial = {listed}); rerun the finalists stage"
            )
        row.metrics_path = source
        if row.empty:
            continue
        row.test_accuracy = _get(data, source, "test.accuracy")
        row.test_f1_macro = _get(data, source, "test.f1_macro")
        noise = (data.get("test") or {}).get("f1_noise") or {}
        if "low" in noise and "high" in noise:
            row.test_f1_interval = (float(noise["low"]), float(noise["high"]))
        row.search_val_f1 = _get(data, source, "search.val_f1")
        row.confusion = _get(data, source, "test.confusion_matrix")
        row.class_names = [str(c) for c in (data.get("test") or {}).get("class_names") or []]
        for key in ("params", "macs"):
            if data.get(key) is not None:
                setattr(row, key, data[key])
        row.archive = str(data.get("archive") or row.archive)
    for row in rows.values():
        if not row.metrics_path and not row.empty:
            _logger.warning("finalist #%d (trial %d): no metrics.json given", row.rank, row.trial)
    return [rows[rank] for rank in sorted(rows)]
