"""The workflow with the front timed in ONNX Runtime and int8 finalists: every finalist gets a
tested int8 twin, both are timed on a quiet machine, and the report sets them side by side."""

from __future__ import annotations

import csv
import json
import time

import pytest
import yaml

from tests.conftest import REPO
from tests.workflow.conftest import make_project

pytestmark = pytest.mark.slow  # the real workflow: not in the fast loop


def test_onnxruntime_profile_and_int8_finalists_end_to_end(tmp_path):
    project = make_project(tmp_path)
    space = yaml.safe_load((REPO / "config" / "search_space.yaml").read_text())
    space["hparams"]["steps"] = 100  # a short search; the finalists train for real
    project.path("config", "short.yaml").write_text(yaml.safe_dump(space))
    project.set_config(
        search={"space": "config/short.yaml", "n_trials": 8, "workers": 1},
        profile={"max_models": 6, "rounds": 20, "runtime": "onnxruntime"},
        select={"k": 2},
        finalize={"epochs": 15, "quantize": "int8"},
    )
    started = time.perf_counter()
    project.snakemake("--cores", "2")
    wall = time.perf_counter() - started

    results = project.path("results")
    record = json.loads((results / "profile" / "profile.json").read_text())
    assert record["runtime"] == "onnxruntime" and record["models"] >= 1
    assert (results / "profile" / "machine_baseline.json").is_file()
    with (results / "profile" / "finalists.csv").open() as handle:
        timed = {(int(r["rank"]), r["format"]): r for r in csv.DictReader(handle)}
    summary = (results / "report" / "summary.md").read_text()
    assert "profiled in **onnxruntime" in summary and "### Float and int8" in summary
    assert "latency ms (float, onnxruntime)" in summary
    for rank in (1, 2):
        out = results / "finalists" / str(rank)
        metrics = json.loads((out / "metrics.json").read_text())
        int8 = metrics["int8"]
        assert int8["skipped"] is None and (out / "model.int8.onnx").stat().st_size == int8["bytes"]
        assert int8["bytes"] < int8["float_bytes"] == (out / "model.onnx").stat().st_size
        # within one point of the float model on digits' test split
        assert abs(int8["test_accuracy"] - metrics["test"]["accuracy"]) <= 0.01, int8
        for fmt in ("float", "int8"):
            assert timed[(rank, fmt)]["runtime"] == "onnxruntime"
            assert float(timed[(rank, fmt)]["latency_ms"]) > 0
        assert f"| {rank} | {metrics['trial']} | {metrics['test']['accuracy']:.4f} | " in summary
        assert f"{int8['test_accuracy']:.4f}" in summary and f"{int8['bytes']:,}" in summary
    print(f"\nonnxruntime + int8 workflow: {wall:.1f}s wall")
    print(summary[summary.index("### Float and int8") :].split("\n## ")[0])
