"""The whole workflow with its study in a real PostgreSQL server (PARETONAS_STORAGE)."""

from __future__ import annotations

import json

import optuna
import yaml

from tests.workflow.conftest import make_project


def test_workflow_on_postgres(fresh_database, tmp_path):
    project = make_project(tmp_path)
    project.env["PARETONAS_STORAGE"] = fresh_database
    project.set_config(search={"n_trials": 6}, select={"k": 2},
                       finalize={"epochs": 2, "export": False})  # fmt: skip
    project.snakemake("--cores", "4")
    record = json.loads(project.path("results", "search", "study.json").read_text())
    assert record["storage"]["kind"] == "postgresql"
    assert record["storage"]["url"] == fresh_database.replace("optuna-secret", "***")
    assert not list(project.path("results").rglob("study.db"))  # nothing fell back to SQLite
    study = optuna.load_study(study_name=record["name"], storage=fresh_database)
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) >= 6
    finalists = yaml.safe_load(project.path("results", "select", "finalists.yaml").read_text())
    assert {f["trial"] for f in finalists["finalists"]} <= {t.number for t in finished}
    assert project.path("results", "report", "summary.md").is_file()
    for path in project.path("results").rglob("*"):
        if path.is_file() and path.suffix in {".json", ".yaml", ".log", ".md", ".csv"}:
            assert "optuna-secret" not in path.read_text(errors="replace"), path
