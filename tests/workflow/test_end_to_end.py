"""The default workflow end to end (`snakemake --cores 4` on digits), then what a user does
next: look at it, change a key and re-run only what changed, interrupt it, version it."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
from datetime import datetime

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from paretonas.models import ModelSpec, build_model, count_params
from paretonas.search import attrs
from paretonas.search.study import open_study
from tests.workflow.conftest import Project, copy_project, job_counts, make_project

pytestmark = pytest.mark.slow  # real tools and servers: not in the fast loop

ALL_RULES = {
    "prepare_data",
    "search_study",
    "search_worker",
    "search_snapshot",
    "profile",
    "select",
    "finalize",
    "baseline",
    "report",
}
FROM_SEARCH = {"search_worker", "search_snapshot", "profile", "select", "finalize", "report"}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Project, float]:
    project = make_project(tmp_path_factory.mktemp("e2e"))
    started = time.perf_counter()
    project.snakemake("--cores", "4")
    return project, time.perf_counter() - started


def study_of(project: Project) -> optuna.Study:
    """The live study, through the one door every reader uses (paths relative to the project)."""
    return open_study(project.path("results", "search", "study.json"))


def snapshot_of(project: Project) -> optuna.Study:
    return open_study(project.path("results", "search", "snapshot", "study.db"))


def test_search_results(finished):
    project, wall = finished
    study = study_of(project)
    trials = study.get_trials()
    done = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(done) == 40  # exactly: surplus trials stop before they sample
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    for worker in (0, 1):  # the rule passes the worker count (the sampler's liar) and threads
        report = json.loads(
            project.path("results", "search", "workers", f"{worker}.json").read_text()
        )
        assert report["workers"] == 2 and report["torch_threads"] == 1
    assert {attrs.get(t, attrs.WORKER) for t in done} == {0, 1}, "both workers ran trials"
    for trial in done:  # archived, rebuildable from model.yaml alone
        archive = project.root / attrs.get(trial, attrs.ARCHIVE)
        metrics = json.loads((archive / "metrics.json").read_text())
        assert (
            count_params(build_model(ModelSpec.from_yaml(archive / "model.yaml")))
            == (metrics["costs"]["params"])
        )
    assert max(t.values[0] for t in trials if t.state == TrialState.COMPLETE) >= 0.95
    assert len(study.best_trials) >= 3
    logs = "".join(p.read_text() for p in project.path("results", "logs").rglob("*.log"))
    assert "database is locked" not in logs
    snapshot = snapshot_of(project)  # what select onwards read: the same trials, frozen
    assert [(t.number, t.state, t.values) for t in snapshot.get_trials()] == [
        (t.number, t.state, t.values) for t in trials
    ]
    assert snapshot.metric_names == ["f1", "params", "latency_ms"]
    frozen = project.path("results", "search", "snapshot", "trials")
    for trial in done:
        live = project.root / attrs.get(trial, attrs.ARCHIVE) / "model.yaml"
        assert (frozen / str(trial.number) / "model.yaml").read_text() == live.read_text()
    print(f"\nend to end: {len(done)} trials, {wall:.1f}s wall")
    assert wall < 600


def test_finalists_and_report(finished):
    project, _ = finished
    finalists = yaml.safe_load(project.path("results", "select", "finalists.yaml").read_text())
    assert [f["rank"] for f in finalists["finalists"]] == [1, 2, 3]
    summary = project.path("results", "report", "summary.csv").read_text().splitlines()
    assert len(summary) == 4
    for entry in finalists["finalists"]:
        out = project.path("results", "finalists", str(entry["rank"]))
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["trial"] == entry["trial"]
        # the rule admits finalists down to select.min_relative_score (0.9) x the best search
        # F1, so a knee model may test lower than the best: well above chance (0.1) is the bar
        floor = 0.95 if entry["rank"] == 1 else 0.85
        assert metrics["test"]["accuracy"] >= floor, (entry, metrics["test"]["accuracy"])
        assert entry["values"]["f1"] >= 0.9 * finalists["finalists"][0]["values"]["f1"]
        assert (out / "model.yaml").read_text() == (
            project.root / entry["archive"] / "model.yaml"
        ).read_text()
        assert metrics["exports"]["onnx"]["max_abs_diff"] <= 1e-4
        assert (out / "model.onnx").is_file() and (out / "model.ts").is_file()
    for name in (
        "pareto_front.png",
        "pareto_front.html",
        "hypervolume.png",
        "summary.md",
        "confusion_1.png",
        "param_importances.png",
        "parallel_coordinate.html",
    ):
        assert project.path("results", "report", name).stat().st_size > 0, name
    report = project.run("snakemake", "--report", "results/report.html")
    assert report.returncode == 0
    assert project.path("results", "report.html").stat().st_size > 100_000


# (config change, rules that must run again: and only those)
RERUNS = [
    ({}, set()),
    ({"finalize": {"epochs": 31}}, {"finalize", "baseline", "report"}),
    ({"select": {"k": 2}}, {"select", "finalize", "report"}),
    ({"data": {"search_fraction": 0.4}}, ALL_RULES),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    RERUNS,
    ids=["nothing", "finalize.epochs", "select.k", "data.search_fraction"],
)
def test_rerun_only_what_changed(finished, tmp_path, change, expected):
    project = copy_project(finished[0], tmp_path)
    project.set_config(**change)
    dry = project.snakemake("-n")
    output = dry.stdout + dry.stderr
    if not expected:
        assert "Nothing to be done" in output
        return
    assert set(job_counts(dry.stdout)) - {"all"} == expected


def job_spans(project: Project) -> dict[str, tuple[datetime, datetime]]:
    """Each job's first and last log line (workflow_step logs "started" and "done")."""
    spans = {}
    for log in project.path("results", "logs").rglob("*.log"):
        stamps = [line[:23] for line in log.read_text().splitlines() if line[:4].isdigit()]
        name = str(log.relative_to(project.path("results", "logs")))
        spans[name] = tuple(
            datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f") for s in (stamps[0], stamps[-1])
        )
    return spans


def test_the_profile_step_had_the_machine_to_itself(finished):
    spans = job_spans(finished[0])
    start, end = spans.pop("profile.log")
    # prepare_data, search_study, 2 workers, snapshot, select, 3 finalists, baseline, report
    assert len(spans) == 11
    for name, (other_start, other_end) in spans.items():
        assert other_end <= start or other_start >= end, (name, other_start, other_end)
    record = json.loads(finished[0].path("results", "profile", "profile.json").read_text())
    assert record["models"] >= 3 and -1 <= record["estimate_rank_correlation"] <= 1
    rho = record["estimate_rank_correlation"]
    print(f"\nprofile: {record['models']} models, estimate Spearman {rho}")


def test_summary_lists_the_study_and_the_archives(finished):
    summary = finished[0].snakemake("--summary").stdout.splitlines()
    rules = {line.split("\t")[0]: line.split("\t")[2] for line in summary[1:] if "\t" in line}
    assert rules["results/search/snapshot/study.db"] == "search_snapshot"
    assert rules["results/search/snapshot/trials"] == "search_snapshot"
    assert rules["results/search/trials.csv"] == "search_snapshot"
    assert rules["results/search/study.json"] == "search_study"
    assert rules["results/search/workers/0.json"] == "search_worker"


# (edited package module, rules that must run again: and only those)
CODE_EDITS = [
    ("select.py", {"select", "finalize", "report"}),
    # search_study checks hparams with training; the baseline trains
    ("training/_loop.py", FROM_SEARCH | {"search_study", "baseline"}),
    ("reporting/_summary.py", {"report"}),
]


@pytest.mark.parametrize(("module", "expected"), CODE_EDITS, ids=[m for m, _ in CODE_EDITS])
def test_code_edits_rerun_what_they_touch(finished, tmp_path, module, expected):
    project = copy_project(finished[0], tmp_path)
    source = project.path("src", "paretonas", module)
    source.write_text(source.read_text() + "\n# an edit\n")
    assert set(job_counts(project.snakemake("-n").stdout)) - {"all"} == expected
    project.snakemake("--touch", "--cores", "1")  # the documented way to accept an edit
    assert "Nothing to be done" in project.snakemake("-n").stdout


def test_more_trials_continue_the_same_study(finished, tmp_path):
    project = copy_project(finished[0], tmp_path)
    before = study_of(project)
    count_before = len(before.trials)
    project.set_config(search={"n_trials": 44})
    assert set(job_counts(project.snakemake("-n").stdout)) - {"all"} == FROM_SEARCH
    project.snakemake("--cores", "4", "--until", "search_worker")
    after = study_of(project)
    assert after.study_name == before.study_name
    assert len(after.trials) - count_before in range(4, 6)


def test_interrupted_finalize_then_rerun(finished, tmp_path):
    project = copy_project(finished[0], tmp_path)
    project.set_config(finalize={"epochs": 8, "export": False})  # shorter: still interruptible
    proc = subprocess.Popen(
        ["snakemake", "--cores", "4", "--forcerun", "finalize"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    log = project.path("results", "logs", "finalize", "1.log")
    log.unlink()  # Snakemake removes it too before the job; it comes back when the job starts
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and "finalize_rank" in log.read_text()):
        time.sleep(0.2)  # wait until finalize is really running (its first log line)
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    rerun = project.snakemake("--cores", "4")
    assert "finalize" in rerun.stdout + rerun.stderr
    for rank in (1, 2, 3):
        metrics = json.loads(
            project.path("results", "finalists", str(rank), "metrics.json").read_text()
        )
        assert metrics["rank"] == rank
    assert "Nothing to be done" in project.snakemake("-n").stdout


def md5_tree(root) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_dvc_versions_the_finalists(finished, tmp_path):
    project = copy_project(finished[0], tmp_path)
    project.run("git", "init", "-q")
    repro = project.dvc("repro")
    assert "Nothing to be done" in repro.stdout + repro.stderr  # Snakemake recomputed nothing
    assert project.dvc("status").stdout.strip() == "Data and pipelines are up to date."
    project.dvc("remote", "add", "-d", "local", str(tmp_path / "remote"))
    project.dvc("push")
    project.run("git", "add", "-A")
    project.run("git", "commit", "-qm", "results")
    clone_root = tmp_path / "clone"
    project.run("git", "clone", "-q", str(project.root), str(clone_root))
    clone = Project(clone_root, project.env)
    clone.dvc("pull")
    assert md5_tree(clone.path("results", "finalists")) == md5_tree(
        project.path("results", "finalists")
    )
    clone.snakemake("--touch", "--cores", "1")  # pulled files have fresh mtimes: mark them done
    assert "Nothing to be done" in clone.snakemake("-n").stdout
