"""Report inputs and trial bookkeeping: hypervolume, layers, disagreeing inputs, the CLI verb."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import optuna
import pytest
from optuna.trial import create_trial

from paretonas.objectives import from_names
from paretonas.reporting import ReportError, write_report
from paretonas.reporting._trials import TrialRow, TrialTable, hypervolume_history
from paretonas.search import attrs
from paretonas.search.study import StudyError, open_study
from paretonas.select import write_selection
from tests.conftest import REPO
from tests.reporting.studies import make_config, make_finalists, make_study


def test_hypervolume_history_matches_hand_computation():
    # losses (1 - f1, params / 200): (0.5, 0.25) and (0.2, 0.5); union of the two boxes to (1, 1)
    table = TrialTable(
        from_names(["f1", "params"]),
        [
            TrialRow(0, "complete", (0.5, 50.0), candidate=True),
            TrialRow(1, "infeasible", (0.9, 10.0), "made up"),  # would dominate: ignored
            TrialRow(2, "pruned", None),
            TrialRow(3, "complete", (0.4, 150.0), candidate=True),  # dominated: no change
            TrialRow(4, "complete", (0.8, 100.0), candidate=True),
            TrialRow(5, "complete", (0.95, 1.0), reused_from=4),  # a repeat: not a candidate
        ],
    )
    numbers, volumes = hypervolume_history(table, {"f1": 0.0, "params": 200.0})
    assert numbers == [0, 1, 3, 4, 5]
    assert volumes == pytest.approx([0.375, 0.375, 0.375, 0.525, 0.525])
    assert table.layers() == {0: 0, 3: 1, 4: 0}


def test_report_hypervolume_and_front_are_selects(tmp_path):
    config = make_config(tmp_path)
    study, _ = make_study(config, n_complete=25, n_infeasible=3)
    repeat = study.trials[0] if study.trials[0].values else study.best_trials[0]
    study.add_trial(  # the same configuration again, reusing its values: counted once
        create_trial(
            values=repeat.values,
            params=repeat.params,
            distributions=repeat.distributions,
            user_attrs={**repeat.user_attrs, attrs.REUSED_FROM: repeat.number},
        )
    )
    record = write_selection(study, 3, tmp_path / "pareto.csv", tmp_path / "finalists.yaml")
    table = TrialTable.from_study(study)
    _, volumes = hypervolume_history(table, record["hypervolume"]["reference_point"])
    assert volumes[-1] == pytest.approx(record["hypervolume"]["value"], rel=1e-12)
    assert record["candidates"] == len(table.feasible()) == 25
    rows = list(csv.DictReader((tmp_path / "pareto.csv").open()))
    front = {int(r["trial"]) for r in rows if r["front"] == "0"}
    assert front == {number for number, layer in table.layers().items() if layer == 0}


def test_inputs_that_disagree_are_errors(tmp_path):
    config = make_config(tmp_path)
    study, study_json = make_study(config, n_complete=6, n_pruned=0, n_failed=0)
    finalists_yaml, metrics, _ = make_finalists(tmp_path, study, config)
    stale = json.loads(metrics[0].read_text())
    stale["trial"] = 999
    metrics[0].write_text(json.dumps(stale))
    with pytest.raises(ReportError, match="trial 999 is not a finalist"):
        write_report(study, finalists_yaml, metrics, tmp_path / "r")
    unnamed = optuna.create_study(directions=["maximize", "minimize"])  # no metric names
    with pytest.raises(StudyError, match="no objective names"):
        write_report(unnamed, finalists_yaml, metrics[1:], tmp_path / "r")
    assert open_study(study_json).study_name == study.study_name
    missing = {
        "name": "paretonas-missing",
        "directory": "gone",
        "objectives": [["f1", "maximize"]],
        "storage": {"kind": "sqlite", "url": "-", "file": "gone/study.db", "env": None},
    }
    (tmp_path / "other.json").write_text(json.dumps(missing))
    with pytest.raises(StudyError, match="no storage at"):
        open_study(tmp_path / "other.json")
    with pytest.raises(StudyError, match=r"snapshot\.db: no such file"):
        open_study(tmp_path / "snapshot.db")
    assert not (tmp_path / "gone").exists() and not (tmp_path / "snapshot.db").exists()


def test_cli_verb(tmp_path):
    config = make_config(tmp_path)
    study, study_json = make_study(config, n_complete=12)
    finalists_yaml, metrics, _ = make_finalists(tmp_path, study, config)
    out = tmp_path / "report"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "paretonas",
            "report",
            "--study",
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
            "--study",
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
