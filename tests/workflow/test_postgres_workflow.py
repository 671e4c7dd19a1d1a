"""The whole workflow with its study in a real PostgreSQL server (PARETONAS_STORAGE)."""

from __future__ import annotations

import json

import pytest
import yaml

from paretonas.search.study import open_study
from tests.workflow.conftest import make_project

pytestmark = pytest.mark.slow  # real tools and servers: not in the fast loop


def test_workflow_on_postgres(fresh_database, tmp_path, monkeypatch):
    project = make_project(tmp_path)
    project.env["PARETONAS_STORAGE"] = fresh_database
    project.set_config(  # a short profile: this test is about the storage, not the timing
        search={"n_trials": 6},
        profile={"rounds": 20, "max_models": 3},
        select={"k": 2},
        finalize={"epochs": 2, "export": False},
    )
    project.snakemake("--cores", "4")
    record = json.loads(project.path("results", "search", "study.json").read_text())
    assert record["storage"]["kind"] == "postgresql"
    assert record["storage"]["url"] == fresh_database.replace("optuna-secret", "***")
    assert record["storage"]["env"] == "PARETONAS_STORAGE" and record["storage"]["file"] is None
    snapshot = project.path("results", "search", "snapshot", "study.db")
    assert list(project.path("results").rglob("*.db")) == [snapshot]  # no SQLite fallback
    monkeypatch.setenv("PARETONAS_STORAGE", fresh_database)
    study = open_study(project.path("results", "search", "study.json"))
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) >= 6
    frozen = open_study(snapshot)  # the server's study, copied whole into one SQLite file
    assert [(t.number, t.values, t.params) for t in frozen.trials] == [
        (t.number, t.values, t.params) for t in study.trials
    ]
    finalists = yaml.safe_load(project.path("results", "select", "finalists.yaml").read_text())
    assert {f["trial"] for f in finalists["finalists"]} <= {t.number for t in finished}
    assert project.path("results", "report", "summary.md").is_file()
    for path in project.path("results").rglob("*"):
        if path.is_file() and path.suffix in {".json", ".yaml", ".log", ".md", ".csv", ".db"}:
            assert b"optuna-secret" not in path.read_bytes(), path
