"""The report's two comparisons beside the finalists: the plain-CNN baseline's test figures
(did the search beat it?) and init's predicted time against the actual one."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paretonas import timing
from paretonas.reporting._inputs import FinalistRow, ReportError, read_json
from paretonas.yamlio import atomic_write_text


def baseline_section(
    baseline_json: str | os.PathLike | None, rows: Sequence[FinalistRow]
) -> list[str]:
    """Markdown lines: the baseline's test accuracy and size, and which finalists beat it."""
    if baseline_json is None:
        return []
    metrics = read_json(baseline_json)
    try:
        accuracy = float(metrics["test"]["accuracy"])
        f1 = float(metrics["test"]["f1_macro"])
        params = int(metrics["params"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"{baseline_json}: no test accuracy, f1_macro or params: {exc}") from None
    filled = [row for row in rows if not row.empty and row.test_accuracy is not None]
    beat = [row for row in filled if row.test_accuracy > accuracy]  # type: ignore[operator]
    if not filled:
        verdict = "no finalist to compare"
    elif beat:
        ranks = ", ".join(f"#{row.rank} ({row.test_accuracy:.4f})" for row in beat)
        verdict = f"finalists above it on test accuracy: {ranks}"
    else:
        verdict = "no finalist is above it on test accuracy"
    return [
        "## Baseline",
        "",
        f"A plain 3-conv CNN trained as the finalists are, on the same splits: test accuracy "
        f"**{accuracy:.4f}**, macro-F1 {f1:.4f}, {params:,} parameters; {verdict}.",
        "",
    ]


def write_timing(
    path: Path, estimate: dict[str, Any] | None, benchmarks_dir: str | os.PathLike
) -> tuple[Path, list[str]]:
    """``timing.json`` (``timing.compare`` up to now) and its markdown lines."""
    compared = timing.compare(estimate, benchmarks_dir, now=time.time())
    written = atomic_write_text(path, json.dumps(compared, indent=2) + "\n")
    lines = ["## Time", "", f"{timing.describe(compared)} (up to this report)."]
    return written, lines
