"""Predicted against actual time, stage by stage: what ``paretonas init`` promised (the
config's ``estimate`` section) beside what the run took (the workflow's benchmark files).

Each rule writes ``<results_dir>/benchmarks/<rule>[/<wildcard>].tsv`` when its job ends: the
job's wall seconds (column ``s``), the file's modification time its end. A stage's actual
time is the span from its first job's start to its last job's end (jobs side by side count
once); the total is the span over every job, so the waits between stages count too.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# stage -> the benchmark files (relative to <results_dir>/benchmarks) of its jobs
STAGES: dict[str, tuple[str, ...]] = {
    "data": ("prepare_data.tsv",),
    "search": ("search_worker/*.tsv", "search_snapshot.tsv"),
    "profile": ("profile.tsv",),
    "finalize": ("finalize/*.tsv",),
    "baseline": ("baseline.tsv",),  # needs only the data: it may run beside the search
    "report": ("report.tsv",),
}
# the estimate's keys -> the stages they cover (bookkeeping: the study, select and report;
# only the report has a benchmark file)
ESTIMATE_STAGES = {
    "data": ("data",),
    "search": ("search",),
    "profile": ("profile",),
    "finalize": ("finalize", "baseline"),
    "bookkeeping": ("report",),
}


@dataclass(frozen=True)
class Span:
    """Jobs' wall time as epoch seconds: the first start and the last end."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def job_span(tsv: Path) -> Span | None:
    """(start, end) of the job that wrote the benchmark file ``tsv``; None if unreadable."""
    try:
        with tsv.open(newline="") as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        end = tsv.stat().st_mtime
        return Span(end - float(row["s"]), end)
    except (OSError, StopIteration, KeyError, ValueError):
        return None


def stage_spans(benchmarks_dir: str | os.PathLike) -> dict[str, Span]:
    """Each stage with at least one finished job: the span of its jobs."""
    root = Path(benchmarks_dir)
    spans: dict[str, Span] = {}
    for stage, patterns in STAGES.items():
        jobs = [job_span(path) for pattern in patterns for path in sorted(root.glob(pattern))]
        found = [span for span in jobs if span is not None]
        if found:
            spans[stage] = Span(min(s.start for s in found), max(s.end for s in found))
    return spans


def compare(
    estimate: dict[str, Any] | None,
    benchmarks_dir: str | os.PathLike,
    now: float | None = None,
) -> dict[str, Any]:
    """Predicted and actual seconds, per estimate key and in total (``None`` where either is
    unknown), with the stages that have not run yet. The total runs from the first job's
    start to the last job's end once every stage has run, else to ``now`` (epoch seconds;
    None: the last end so far)."""
    estimate = estimate or {}
    spans = stage_spans(benchmarks_dir)
    rows = []
    for key, stages in ESTIMATE_STAGES.items():
        done = [spans[stage].seconds for stage in stages if stage in spans]
        rows.append(
            {
                "stage": key,
                "predicted_seconds": estimate.get(key),
                "actual_seconds": round(sum(done), 1) if done else None,
            }
        )
    not_run = [stage for stage in STAGES if stage not in spans]
    actual = None
    if spans:
        end = max(s.end for s in spans.values())
        if not_run and now is not None:
            end = max(end, now)
        actual = end - min(s.start for s in spans.values())
    return {
        "predicted_seconds": estimate.get("total"),
        "actual_seconds": round(actual, 1) if actual is not None else None,
        "stages": rows,
        "not_run": not_run,
    }


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def describe(timing: dict[str, Any]) -> str:
    """One line: ``predicted 10.0 min, actual 11.2 min (1.12x); search 7.5 min / 8.0 min, ...``."""
    predicted, actual = timing["predicted_seconds"], timing["actual_seconds"]
    ratio = f" ({actual / predicted:.2f}x)" if predicted and actual is not None else ""
    stages = ", ".join(
        f"{row['stage']} {_minutes(row['predicted_seconds'])} / {_minutes(row['actual_seconds'])}"
        for row in timing["stages"]
    )
    pending = f"; not run yet: {', '.join(timing['not_run'])}" if timing["not_run"] else ""
    if predicted is None:
        return f"actual {_minutes(actual)} (no prediction: the config has no estimate){pending}"
    return (
        f"predicted {_minutes(predicted)}, actual {_minutes(actual)}{ratio}; per stage "
        f"predicted / actual: {stages}{pending}"
    )
