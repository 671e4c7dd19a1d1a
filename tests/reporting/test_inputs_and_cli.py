"""Report inputs and trial bookkeeping: hypervolume, layers, disagreeing inputs, the CLI verb."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from paretonas.reporting import ReportError, open_study, write_report
from paretonas.reporting._trials import TrialRow, TrialTable, hypervolume_history
from tests.conftest import REPO
from tests.reporting.studies import make_config, make_finalists, make_study


def test_hypervolume_history_matches_hand_computation():
    # losses (1 - f1, params / 200): (0.5, 0.25) and (0.2, 0.5); union of the two boxes to (1, 1)
    table = TrialTable(
        [("f1", "maximize"), ("params", "minimize")],
        [
            TrialRow(0, "complete", (0.5, 50.0)),
            TrialRow(
                1, "infeasible", (0.9, 10.0), "infeasible: made up"
            ),  # would dominate: ignored
            TrialRow(2, "pruned", None),
            TrialRow(3, "complete", (0.4, 150.0)),  # dominated: no change
            TrialRow(4, "complete", (0.8, 100.0)),
        ],
    )
    numbers, volumes = hypervolume_history(table, {"f1": 0.0, "params": 200.0})
    assert numbers == [0, 1, 3, 4]
    assert volumes == pytest.approx([0.375, 0.375, 0.375, 0.525])
    assert table.layers() == {0: 0, 3: 1, 4: 0}


def test_inputs_that_disagree_are_errors(tmp_path):
    config = make_config(tmp_path)
    study, study_json = make_study(config, n_complete=6, n_pruned=0, n_failed=0)
    finalists_yaml, metrics, _ = make_finalists(tmp_path, study, config)
    stale = json.loads(metrics[0].read_text())
    stale["trial"] = 999
    metrics[0].write_text(json.dumps(stale))
    with pytest.raises(ReportError, match="trial 999 is not a finalist"):
        write_report(config, study, finalists_yaml, metrics, tmp_path / "r")
    two = make_config(tmp_path, [{"name": "f1"}, {"name": "params"}])
    with pytest.raises(ReportError, match="directions"):
        write_report(two, study, finalists_yaml, metrics[1:], tmp_path / "r")
    assert open_study(config, study_json).study_name == study.study_name
    (tmp_path / "other.json").write_text(json.dumps({"name": "paretonas-missing"}))
    with pytest.raises(ReportError, match="no storage"):
        open_study(config, tmp_path / "other.json")
    assert not (Path(config["results_dir"]) / "search" / "paretonas-missing").exists()


def test_cli_verb(tmp_path):
    config = make_config(tmp_path)
    study, study_json = make_study(config, n_complete=12)
    finalists_yaml, metrics, _ = make_finalists(tmp_path, study, config)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump({"results_dir": config["results_dir"]}))
    out = tmp_path / "report"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "paretonas",
            "report",
            "--config",
            str(config_file),
            "--study-json",
            str(study_json),
            "--finalists",
            str(finalists_yaml),
            "--metrics",
            *map(str, metrics),
            "--out",
            str(out),
            "--plotlyjs",
            "directory",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (out / "plotly.min.js").stat().st_size > 1_000_000
    page = (out / "pareto_front.html").read_text()
    assert 'src="plotly.min.js"' in page and len(page) < 1_000_000
    assert len(list(csv.DictReader((out / "summary.csv").open()))) == 3
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "paretonas",
            "report",
            "--config",
            str(config_file),
            "--study-json",
            str(tmp_path / "nope.json"),
            "--finalists",
            str(finalists_yaml),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert bad.returncode == 2 and "nope.json: no such file" in bad.stderr
