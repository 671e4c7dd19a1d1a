"""One row per trial: Optuna's trials_dataframe joined with what the search records, and
trials.csv beside the snapshot."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pandas as pd
import pytest

from paretonas.cli import main
from paretonas.search import attrs
from paretonas.search.study import open_study
from paretonas.search.table import trials_frame
from tests.search.conftest import fast_space, load, run_search, search_config, study_json
from tests.search.studies import MADE, make_study


def test_every_outcome_with_its_reason_worker_and_costs(tmp_path):
    study = open_study(make_study(tmp_path / "made.db"))
    frame = trials_frame(study, tmp_path / "trials")
    assert list(frame.columns) == [
        "number",
        "state",
        "outcome",
        "reason",
        "values_f1",
        "values_params",
        "f1_se",
        "costs_params",
        "costs_macs",
        "datetime_start",
        "datetime_complete",
        "duration_s",
        "train_seconds",
        "worker",
        "reused_from",
        "retried_from",
        "archive",
        "params_lr",
    ]
    assert list(frame["number"]) == list(range(len(MADE)))
    assert list(frame["state"]) == [state.name for state, *_ in MADE]
    assert list(frame["outcome"]) == [
        "complete",
        "complete",
        "pruned",
        "fail",
        "infeasible",
        "complete",
        "complete",
        "complete",
        "running",
    ]
    assert frame.loc[2, "reason"] == "rung 1: layer 2 of 3"
    assert frame.loc[3, "reason"] == "RuntimeError: out of memory"
    assert frame.loc[4, "reason"] == "params 90000 > 50000" and frame.loc[0, "reason"] == ""
    assert list(frame["worker"]) == [worker for *_, worker, _ in MADE]
    assert frame["reused_from"].tolist()[7] == 0 and frame["reused_from"].isna().sum() == 8
    durations = [None if end is None else 60.0 * (end - begin) for _, _, begin, end, *_ in MADE]
    for shown, wanted in zip(frame["duration_s"], durations, strict=True):
        assert (math.isnan(shown) and wanted is None) or shown == wanted
    assert frame.loc[5, "values_f1"] == 0.85 and math.isnan(frame.loc[2, "values_f1"])
    assert frame.loc[5, "costs_macs"] == 30000 and frame.loc[5, "f1_se"] == pytest.approx(0.025)
    assert frame.loc[5, "params_lr"] == pytest.approx(0.06)
    # archives under the snapshot's trials/ only where one exists there
    assert set(frame["archive"]) == {""}
    (tmp_path / "trials" / "5").mkdir(parents=True)
    assert trials_frame(study, tmp_path / "trials").loc[5, "archive"] == str(tmp_path / "trials/5")
    assert trials_frame(study).loc[5, "archive"] == "trials/5"  # as the worker recorded it


def test_an_empty_study_is_an_empty_table_with_every_objective(tmp_path):
    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path}/e.db", directions=["maximize", "minimize"]
    )
    frame = trials_frame(study)
    assert frame.empty and {"number", "state", "outcome", "worker", "archive"} <= set(frame)
    assert {"values_0", "values_1"} <= set(frame)
    study.set_metric_names(["f1", "params"])
    study.enqueue_trial({})  # a waiting trial has no values yet either
    frame = trials_frame(study)
    assert list(frame["outcome"]) == ["waiting"] and frame["values_params"].isna().all()


def test_the_snapshot_writes_trials_csv(tmp_path, digits_dir):
    config = search_config(tmp_path, fast_space(tmp_path, epochs=1), n_trials=3)
    run_search(config, digits_dir)
    out = tmp_path / "snapshot"
    snapshot = ["--db", str(out / "study.db"), "--trials", str(out / "trials")]
    table_csv = ["--trials-csv", str(tmp_path / "trials.csv")]
    assert main(["search-snapshot", "--study", str(study_json(config)), *snapshot, *table_csv]) == 0
    table = pd.read_csv(tmp_path / "trials.csv")
    trials = load(config).trials
    assert list(table["number"]) == [t.number for t in trials] and len(trials) >= 3
    for row, trial in zip(table.itertuples(index=False), trials, strict=True):
        assert row.state == trial.state.name and row.outcome == attrs.outcome(trial)
        assert row.worker == 0
        if trial.values is not None:
            assert [row.values_f1, row.values_params, row.values_latency_ms] == trial.values
        assert row.duration_s == pytest.approx(trial.duration.total_seconds(), abs=1e-6)
        assert (Path(row.archive) / "model.yaml").is_file()
        assert Path(row.archive).parent == out / "trials"
        for name, value in trial.params.items():
            assert table.loc[trial.number, f"params_{name}"] == value
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
