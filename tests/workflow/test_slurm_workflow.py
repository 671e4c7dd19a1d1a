"""The tiny workflow through `--profile profiles/slurm` on a real single-node SLURM cluster,
with the study in a real PostgreSQL server: the search workers really are SLURM jobs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import optuna
import yaml
from optuna.trial import TrialState

from tests.workflow.conftest import make_project


def test_workflow_on_slurm_with_postgres(slurm, fresh_database, tmp_path):
    project = make_project(tmp_path)
    project.env["PARETONAS_STORAGE"] = fresh_database
    project.set_config(search={"n_trials": 6}, select={"k": 2},
                       finalize={"epochs": 2, "export": False})  # fmt: skip
    result = project.run(
        "snakemake", "--profile", "profiles/slurm",
        "--slurm-init-seconds-before-status-checks", "1",
        "--default-resources", "slurm_partition=debug", "runtime=10", "mem_mb=1000",
        "cpus_per_task=1", timeout=900,
    )  # fmt: skip
    output = result.stdout + result.stderr
    submitted = dict(re.findall(r"slurm_logs/rule_(\w+(?:/\d+)?)/(\d+)\.log", output))
    assert {"search_worker/0", "search_worker/1", "finalize/1", "finalize/2"} <= set(submitted)
    completed = {job["JobId"]: job for job in slurm.completed_jobs()}
    for rule in ("search_worker/0", "search_worker/1"):
        assert completed[submitted[rule]]["JobState"] == "COMPLETED", rule
    record = json.loads(project.path("results", "search", "study.json").read_text())
    assert record["storage"]["kind"] == "postgresql"
    finalists = yaml.safe_load(project.path("results", "select", "finalists.yaml").read_text())
    assert [f["rank"] for f in finalists["finalists"]] == [1, 2]
    for rank in (1, 2):
        metrics = json.loads(project.path("results", "finalists", str(rank), "metrics.json")
                             .read_text())  # fmt: skip
        assert metrics["test"]["samples"] == 359
    assert project.path("results", "report", "summary.md").is_file()


def test_scancel_a_worker_mid_trial_then_rerun(slurm, fresh_database, tmp_path):
    project = make_project(tmp_path)
    project.env["PARETONAS_STORAGE"] = fresh_database
    space = yaml.safe_load(project.path("config", "search_space.yaml").read_text())
    space["hparams"]["epochs"] = 25  # trials long enough to be caught mid-way
    project.path("config", "search_space.yaml").write_text(yaml.safe_dump(space))
    project.set_config(search={"n_trials": 6, "heartbeat_interval": 1, "grace_period": 5},
                       select={"k": 2}, finalize={"epochs": 2, "export": False})  # fmt: skip
    command = ["snakemake", "--profile", "profiles/slurm",
               "--slurm-init-seconds-before-status-checks", "1", "--default-resources",
               "slurm_partition=debug", "runtime=10", "mem_mb=1000", "cpus_per_task=1"]  # fmt: skip
    log = tmp_path / "snakemake.out"
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=project.root, env=project.env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        job, study, deadline = None, None, time.time() + 300
        while time.time() < deadline and study is None:
            time.sleep(1)
            found = re.search(r"slurm_logs/rule_search_worker/0/(\d+)\.log", log.read_text())
            job = found.group(1) if found else None
            record = project.path("results", "search", "study.json")
            if job and record.exists():
                name = json.loads(record.read_text())["name"]
                candidate = optuna.load_study(study_name=name, storage=fresh_database)
                running = [
                    t
                    for t in candidate.get_trials(deepcopy=False)
                    if t.state == TrialState.RUNNING and t.user_attrs.get("worker") == 0
                ]
                study = candidate if running else None  # fmt: skip
        assert study is not None, log.read_text()[-3000:]
        before = {t.number: t.values for t in study.get_trials() if t.state == TrialState.COMPLETE}
        subprocess.run(["scancel", job], check=True, timeout=30)
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0  # the cancelled worker failed the run
    project.run(*command, timeout=900)  # the re-run finishes it
    trials = study.get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) >= 6
    for number, values in before.items():
        assert trials[number].values == values
    cancelled = [t for t in trials if t.user_attrs.get("fail_reason") == "terminated"
                 or t.system_attrs.get("failed_trial") is not None]  # fmt: skip
    assert cancelled or any(t.state == TrialState.FAIL for t in trials)
    assert project.path("results", "report", "summary.md").is_file()
