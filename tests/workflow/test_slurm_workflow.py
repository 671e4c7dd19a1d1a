"""The tiny workflow through `--profile profiles/slurm` on a real single-node SLURM cluster,
with the study in a real PostgreSQL server: the search workers really are SLURM jobs, one
of them is cancelled mid-trial, and a re-run finishes the work without losing any of it.

One test on purpose: each workflow run on SLURM costs minutes of polling, and the re-run
after the cancel is itself the complete workflow on SLURM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from paretonas.search import attrs
from paretonas.search.study import open_study
from tests.services.slurm import plugin_path
from tests.workflow.conftest import make_project

pytestmark = pytest.mark.slow  # real tools and servers: not in the fast loop

COMMAND = [
    "snakemake",
    "--profile",
    "profiles/slurm",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "2",
    "--default-resources",
    "slurm_partition=debug",
    "runtime=10",
    "mem_mb=1000",
    "cpus_per_task=1",
]


def wait_for_running_trial(project, log) -> tuple[str, optuna.Study]:
    """Worker 0's SLURM job id and the study, once worker 0 is inside a trial."""
    deadline = time.time() + 300
    while time.time() < deadline:
        time.sleep(1)
        found = re.search(r"slurm_logs/rule_search_worker/0/(\d+)\.log", log.read_text())
        record = project.path("results", "search", "study.json")
        if not (found and record.exists()):
            continue
        study = open_study(record)  # $PARETONAS_STORAGE holds the URL, as for the user
        if any(
            t.state == TrialState.RUNNING and attrs.get(t, attrs.WORKER) == 0
            for t in study.get_trials(deepcopy=False)
        ):
            return found.group(1), study
    raise AssertionError(f"worker 0 never ran a trial:\n{log.read_text()[-3000:]}")


def test_slurm_postgres_workflow_survives_a_scancel(slurm, fresh_database, tmp_path, monkeypatch):
    monkeypatch.setenv("PARETONAS_STORAGE", fresh_database)
    project = make_project(tmp_path)
    project.env["PARETONAS_STORAGE"] = fresh_database
    extra = plugin_path()  # the plugin, for this Snakemake (and its jobs, via sbatch --export)
    project.env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra, os.environ.get("PYTHONPATH")]))
    space = yaml.safe_load(project.path("config", "search_space.yaml").read_text())
    space["hparams"]["steps"] = 160  # trials long enough to be caught mid-way (~2 s)
    project.path("config", "search_space.yaml").write_text(yaml.safe_dump(space))
    project.set_config(
        search={"n_trials": 6, "heartbeat_interval": 1, "grace_period": 5},
        profile={"rounds": 20, "max_models": 3},
        select={"k": 2},
        finalize={"epochs": 2, "export": False},
    )
    log = tmp_path / "snakemake.out"
    with log.open("w") as out:
        proc = subprocess.Popen(
            COMMAND,
            cwd=project.root,
            env=project.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        job, study = wait_for_running_trial(project, log)
        before = {t.number: t.values for t in study.get_trials() if t.state == TrialState.COMPLETE}
        subprocess.run(["scancel", job], check=True, timeout=30)
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0  # the cancelled worker failed the run

    rerun = project.run(*COMMAND, timeout=900)  # the re-run finishes it, on SLURM
    output = rerun.stdout + rerun.stderr
    submitted = dict(re.findall(r"slurm_logs/rule_(\w+(?:/\d+)?)/(\d+)\.log", output))
    assert {"finalize/1", "finalize/2"} <= set(submitted), output  # training: SLURM jobs
    assert not {"select", "report", "search_snapshot"} & set(submitted)  # localrules
    completed = {job["JobId"]: job for job in slurm.completed_jobs()}
    for rule in {"search_worker/0", "search_worker/1", "finalize/1", "finalize/2"} & set(submitted):
        assert completed[submitted[rule]]["JobState"] == "COMPLETED", rule

    trials = study.get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) >= 6
    for number, values in before.items():
        assert trials[number].values == values  # nothing finished was lost or redone
    cancelled = [
        t
        for t in trials
        if attrs.get(t, attrs.FAIL_REASON) == "terminated"
        or t.system_attrs.get("failed_trial") is not None
    ]
    assert cancelled or any(t.state == TrialState.FAIL for t in trials)

    record = json.loads(project.path("results", "search", "study.json").read_text())
    assert record["storage"]["kind"] == "postgresql"
    finalists = yaml.safe_load(project.path("results", "select", "finalists.yaml").read_text())
    assert [f["rank"] for f in finalists["finalists"]] == [1, 2]
    for rank in (1, 2):
        metrics = json.loads(
            project.path("results", "finalists", str(rank), "metrics.json").read_text()
        )
        assert metrics["test"]["samples"] == 359
    assert project.path("results", "report", "summary.md").is_file()
    password = fresh_database.split(":")[2].split("@")[0]
    for path in [*project.path("results").rglob("*"), *project.path(".snakemake").rglob("*.log")]:
        if path.is_file() and path.suffix in {".json", ".yaml", ".log", ".md", ".csv", ".db"}:
            assert password.encode() not in path.read_bytes(), path
