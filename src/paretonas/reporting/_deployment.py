"""The finalists as deployed: float and int8 side by side (test accuracy, file size, latency),
from each finalist's metrics.json (``int8``) and the profile_finalists step's CSV."""

from __future__ import annotations

import csv
import os
from typing import Any

import pandas as pd

from paretonas.reporting._inputs import FinalistRow, ReportError, read_json
from paretonas.tables import markdown


def read_deployment(path: str | os.PathLike) -> dict[tuple[int, str], dict[str, str]]:
    """(rank, format) -> the row of profile_finalists' CSV."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return {(int(row["rank"]), row["format"]): row for row in csv.DictReader(handle)}
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except (OSError, KeyError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read the finalists' latency: {exc}") from None


def _cell(value: Any, digits: int | None = None) -> str:
    if value in (None, ""):
        return "n/a"
    return f"{int(float(value)):,}" if digits is None else f"{float(value):.{digits}f}"


def deployment_table(rows: list[FinalistRow], latency: dict[tuple[int, str], dict]) -> str:
    """A markdown table, one row per filled slot: float and int8 test accuracy, bytes and
    latency (each latency in the runtime it was timed in); why an int8 twin is missing."""
    runtime = next((r["runtime"] for (_, f), r in latency.items() if f == "float"), "?")
    headers = [
        "rank",
        "trial",
        "test accuracy (float)",
        "test accuracy (int8)",
        "bytes (float)",
        "bytes (int8)",
        f"latency ms (float, {runtime})",
        "latency ms (int8, onnxruntime)",
    ]
    cells = []
    for row in rows:
        if row.empty or not row.metrics_path:
            continue
        int8 = read_json(row.metrics_path).get("int8") or {}
        float_row = latency.get((row.rank, "float"), {})
        int8_row = latency.get((row.rank, "int8"), {})
        accuracy = _cell(int8.get("test_accuracy"), 4)
        if int8.get("skipped"):
            accuracy = f"skipped: {int8['skipped']}"
        cells.append(
            [
                str(row.rank),
                str(row.trial),
                _cell(row.test_accuracy, 4),
                accuracy,
                _cell(int8.get("float_bytes") or float_row.get("bytes")),
                _cell(int8.get("bytes")),
                _cell(float_row.get("latency_ms"), 4),
                _cell(int8_row.get("latency_ms"), 4),
            ]
        )
    return markdown(pd.DataFrame(cells, columns=headers), left=["test accuracy (int8)"])
