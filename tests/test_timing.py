"""Predicted against actual time: stage spans from the jobs' benchmark files (the file's end
time less its seconds), side-by-side jobs counted once, the total from the first start."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paretonas import timing

ESTIMATE = {
    "total": 600,
    "data": 5,
    "search": 400,
    "profile": 15,
    "finalize": 120,
    "bookkeeping": 60,
}
T0 = 1_700_000_000.0


def job(root: Path, name: str, start: float, seconds: float) -> None:
    """A Snakemake benchmark file for a job that ran ``seconds`` from ``T0 + start``."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds:.4f}\t0:00:00\t100\n")
    os.utime(path, (T0 + start + seconds, T0 + start + seconds))


@pytest.fixture
def finished(tmp_path) -> Path:
    job(tmp_path, "prepare_data.tsv", 0, 4)
    job(tmp_path, "search_worker/0.tsv", 10, 300)  # two workers side by side: 10..330
    job(tmp_path, "search_worker/1.tsv", 12, 318)
    job(tmp_path, "search_snapshot.tsv", 335, 2)
    job(tmp_path, "profile.tsv", 340, 20)
    job(tmp_path, "finalize/1.tsv", 365, 100)
    job(tmp_path, "baseline.tsv", 10, 40)  # needs only the data: beside the search
    job(tmp_path, "report.tsv", 470, 30)
    return tmp_path


def test_stages_and_total_from_the_benchmark_files(finished):
    compared = timing.compare(ESTIMATE, finished, now=T0 + 10_000)
    actual = {row["stage"]: row["actual_seconds"] for row in compared["stages"]}
    # finalize: the finalists' span and the baseline's
    assert actual == {"data": 4, "search": 327, "profile": 20, "finalize": 140, "bookkeeping": 30}
    assert compared["actual_seconds"] == 500  # every stage ran: the last end, not ``now``
    assert compared["predicted_seconds"] == 600 and compared["not_run"] == []
    line = timing.describe(compared)
    assert line.startswith("predicted 10.0 min, actual 8.3 min (0.83x); per stage predicted")
    assert "search 6.7 min / 5.5 min" in line


def test_a_running_workflow_counts_up_to_now(finished):
    for name in ("finalize/1.tsv", "baseline.tsv", "report.tsv"):
        (finished / name).unlink()
    compared = timing.compare(ESTIMATE, finished, now=T0 + 400)
    assert compared["actual_seconds"] == 400
    assert compared["not_run"] == ["finalize", "baseline", "report"]
    assert timing.describe(compared).endswith("; not run yet: finalize, baseline, report")


def test_without_an_estimate_it_says_so(finished):
    line = timing.describe(timing.compare(None, finished))
    assert line == "actual 8.3 min (no prediction: the config has no estimate)"


def test_no_jobs_yet(tmp_path):
    compared = timing.compare(ESTIMATE, tmp_path / "benchmarks", now=T0)
    assert compared["actual_seconds"] is None
