"""The search on a real PostgreSQL server (started by the tests on 127.0.0.1): load, two
real workers, kill -9 recovery, and the server going away mid-search."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from paretonas.cli.search_worker import command as worker_command
from paretonas.search import attrs
from paretonas.search.storage import open_storage, resolve_storage
from tests.search.conftest import fast_space, load, search_config, start
from tests.search.load_worker import assert_exactly, run_load

pytestmark = pytest.mark.slow  # real tools and servers: not in the fast loop

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def pg_study(url: str, name: str) -> optuna.Study:
    """A raw study on the server (the load test's trivial objective has no study.json)."""
    os.environ["PARETONAS_TEST_PG"] = url
    info = resolve_storage("sqlite", ".", env_var="PARETONAS_TEST_PG")
    return optuna.load_study(study_name=name, storage=open_storage(info))


class Search:
    """A small search on the server: its study is started (as the workflow's first search step
    does) before any worker, so a reader finds it from the first poll on."""

    def __init__(self, tmp_path: Path, url: str, data_dir: Path, monkeypatch, **search) -> None:
        monkeypatch.setenv("PARETONAS_STORAGE", url)  # what the user exports
        self.url, self.data_dir = url, data_dir
        self.config = search_config(
            tmp_path,
            fast_space(tmp_path, epochs=search.pop("epochs", 2)),
            heartbeat_interval=1,
            grace_period=3,
            **search,
        )
        self.config_path = tmp_path / "config.yaml"
        self.config_path.write_text(yaml.safe_dump(self.config))
        self.study_json = start(self.config, data_dir)

    def worker(self, worker_id: int = 0) -> subprocess.Popen:
        return subprocess.Popen(
            worker_command(self.config_path, self.study_json, self.data_dir, worker_id),
            env={**os.environ, "PARETONAS_STORAGE": self.url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def study(self) -> optuna.Study:
        return load(self.config)


def test_eight_workers_on_postgres(fresh_database, tmp_path):
    os.environ["PARETONAS_TEST_PG"] = fresh_database
    info = resolve_storage("sqlite", tmp_path, env_var="PARETONAS_TEST_PG")
    optuna.create_study(study_name="load", storage=open_storage(info))
    env = {**os.environ, "PARETONAS_STORAGE": fresh_database}
    started = time.perf_counter()
    numbers = run_load("env", tmp_path, env=env)
    wall = time.perf_counter() - started
    study = pg_study(fresh_database, "load")
    assert_exactly(study, 200, numbers)
    complete = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    surplus = len(study.trials) - complete
    print(f"\npostgres load: {complete} complete, {surplus} surplus, 8 workers, {wall:.1f}s")


def test_two_real_workers_and_no_password_in_results(
    fresh_database, tmp_path, digits_dir, monkeypatch
):
    search = Search(tmp_path, fresh_database, digits_dir, monkeypatch, n_trials=6)
    procs = [search.worker(i) for i in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        assert "optuna-secret" not in err
    trials = search.study().trials
    assert sum(t.state in FINISHED for t in trials) >= 6
    assert {attrs.get(t, attrs.WORKER) for t in trials if t.state in FINISHED} == {0, 1}
    for path in (tmp_path / "results").rglob("*"):
        if path.is_file() and path.suffix in {".json", ".yaml", ".log"}:
            assert "optuna-secret" not in path.read_text(), path
    record = json.loads(next((tmp_path / "results").rglob("study.json")).read_text())
    assert record["storage"]["kind"] == "postgresql"
    assert ":***@" in record["storage"]["url"]


def test_kill_9_on_postgres(fresh_database, tmp_path, digits_dir, monkeypatch):
    search = Search(tmp_path, fresh_database, digits_dir, monkeypatch, n_trials=5, epochs=6)
    proc = search.worker()
    study = search.study()
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.3)
        states = [t.state for t in study.get_trials(deepcopy=False)]
        if TrialState.COMPLETE in states and states[-1] == TrialState.RUNNING:
            break
    else:
        raise AssertionError("the worker never had a finished and a running trial")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {t.number: t for t in study.get_trials() if t.state.is_finished()}
    killed = [t.number for t in study.get_trials() if t.state == TrialState.RUNNING]
    assert before and killed
    rerun = search.worker()
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    trials = study.get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert sum(t.state in FINISHED for t in trials) >= 5
    for number, old in before.items():
        assert trials[number].state == old.state and trials[number].values == old.values
    assert all(trials[n].state == TrialState.FAIL for n in killed)
    assert [t for t in trials if t.system_attrs.get("failed_trial") in killed], "not retried"


def test_server_stops_mid_search_then_rerun(
    postgres, fresh_database, tmp_path, digits_dir, monkeypatch
):
    search = Search(tmp_path, fresh_database, digits_dir, monkeypatch, n_trials=6, epochs=4)
    proc = search.worker()
    study = search.study()
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.3)
        if any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
            break
    else:
        raise AssertionError("no trial completed")
    before = {t.number: t.values for t in study.get_trials() if t.state == TrialState.COMPLETE}
    postgres.stop("fast")
    try:
        _, err = proc.communicate(timeout=120)  # an error, not a hang
        assert proc.returncode == 2, err[-2000:]
        last = err.strip().splitlines()[-1]
        assert last.startswith("paretonas search-worker: error: storage postgresql://optuna:***@")
        assert "optuna-secret" not in err
    finally:
        postgres.start()
    rerun = search.worker()
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    trials = search.study().get_trials()
    assert sum(t.state in FINISHED for t in trials) >= 6
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    for number, values in before.items():
        assert trials[number].values == values
