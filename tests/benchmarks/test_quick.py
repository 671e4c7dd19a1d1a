"""`python -m benchmarks --quick` end to end (the CI smoke test: tiny budgets, so only that
every part runs and writes its figures is checked, never the figures themselves).

B3 and B5 are left out here to keep CI short: B5's parts (the default workflow, `snakemake
-n` on it) run in tests/workflow, and B3 runs the same worker processes as B1 and B6."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # real tools and servers: not in the fast loop


def test_quick_benchmarks_run_and_write_their_figures(tmp_path):
    out = tmp_path / "bench"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--only",
            "B1",
            "B2",
            "B4",
            "B6",
            "--out",
            str(out),
            "--pass",
            "B4:--storages sqlite,journal --workers 1,2",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] and summary["machine"]["cores"] >= 1
    assert set(summary["results"]) == {"B1", "B2", "B4", "B6"}
    for key, entry in summary["results"].items():
        assert entry["exit"] == 0, key
        assert {"target", "measured", "met"} <= set(entry["goal"]), key

    b1 = json.loads((out / "b1.json").read_text())
    [seed] = b1["seeds"]
    assert [arm["name"] for arm in seed["arms"]] == ["paretonas", "course"]
    assert sum(arm["trained_complete"] for arm in seed["arms"]) >= 1  # something was trained
    for arm in seed["arms"]:
        assert 0.0 <= arm["test_hv"] <= 1.0 and 0.0 <= arm["auc_hv"] <= arm["final_hv"] + 1e-9
    assert (out / "b1" / "b1_hv_vs_time.png").stat().st_size > 10_000
    b4 = json.loads((out / "b4.json").read_text())
    arms = {(arm["storage"], arm["workers"]) for arm in b4["arms"]}
    assert {("sqlite", 1), ("sqlite", 2), ("journal", 1), ("journal", 2)} <= arms
    for arm in b4["arms"]:
        assert arm["fail"] == 0 and arm["running"] == 0 and arm["trials"] >= 20
    assert {arm["objective"] for arm in b4["arms"]} == {"null", "real"}
    b6 = json.loads((out / "b6.json").read_text())
    assert [seed["seed"] for seed in b6["seeds"]] == [0]
    assert {"prune", "shadow"} <= set(b6["seeds"][0])
    assert 0.0 <= b6["false_prune_rate"] <= 1.0
    assert (out / "b2.json").is_file()
