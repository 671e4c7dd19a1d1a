"""The search on a real PostgreSQL server (started by the tests on 127.0.0.1): load, two
real workers, kill -9 recovery, and the server going away mid-search."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import yaml
from optuna.trial import TrialState

from paretonas.search.storage import open_storage, resolve_storage
from tests.search.conftest import fast_space, search_config
from tests.search.load_worker import run_load

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def pg_study(url: str, name: str) -> optuna.Study:
    os.environ["PARETONAS_TEST_PG"] = url
    info = resolve_storage("sqlite", ".", env_var="PARETONAS_TEST_PG")
    return optuna.load_study(study_name=name, storage=open_storage(info))


def worker(config_path: Path, data_dir: Path, url: str, worker_id: int = 0) -> subprocess.Popen:
    env = {**os.environ, "PARETONAS_STORAGE": url}
    return subprocess.Popen(
        [sys.executable, "-m", "paretonas", "search-worker", "--config", str(config_path),
         "--worker-id", str(worker_id), "--data", str(data_dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def write_config(tmp_path: Path, **search) -> Path:
    config = search_config(tmp_path, fast_space(tmp_path, epochs=search.pop("epochs", 2)),
                           heartbeat_interval=1, grace_period=3, **search)  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def study_name_of(tmp_path: Path) -> str:
    return json.loads(next((tmp_path / "results" / "search").glob("*/study.json")).read_text())[
        "name"
    ]


def test_eight_workers_on_postgres(fresh_database, tmp_path):
    os.environ["PARETONAS_TEST_PG"] = fresh_database
    info = resolve_storage("sqlite", tmp_path, env_var="PARETONAS_TEST_PG")
    optuna.create_study(study_name="load", storage=open_storage(info))
    env = {**os.environ, "PARETONAS_STORAGE": fresh_database}
    started = time.perf_counter()
    numbers = run_load("env", tmp_path, env=env)
    wall = time.perf_counter() - started
    study = pg_study(fresh_database, "load")
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) >= 200
    assert TrialState.FAIL not in states and TrialState.RUNNING not in states
    assert len(numbers) == len(set(numbers)) == len(study.trials)
    print(f"\npostgres load: {len(study.trials)} trials, 8 workers, {wall:.1f}s")


def test_two_real_workers_and_no_password_in_results(fresh_database, tmp_path, digits_dir):
    config = write_config(tmp_path, n_trials=6)
    procs = [worker(config, digits_dir, fresh_database, i) for i in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        assert "optuna-secret" not in err
    name = study_name_of(tmp_path)
    trials = pg_study(fresh_database, name).trials
    assert sum(t.state in FINISHED for t in trials) >= 6
    assert {t.user_attrs["worker"] for t in trials if t.state in FINISHED} == {0, 1}
    for path in (tmp_path / "results").rglob("*"):
        if path.is_file() and path.suffix in {".json", ".yaml", ".log"}:
            assert "optuna-secret" not in path.read_text(), path
    record = json.loads(next((tmp_path / "results").rglob("study.json")).read_text())
    assert record["storage"]["kind"] == "postgresql"
    assert ":***@" in record["storage"]["url"]


def test_kill_9_on_postgres(fresh_database, tmp_path, digits_dir):
    config = write_config(tmp_path, n_trials=5, epochs=6)
    proc = worker(config, digits_dir, fresh_database)
    deadline, study = time.time() + 120, None
    while time.time() < deadline:
        time.sleep(0.3)
        try:
            study = pg_study(fresh_database, study_name_of(tmp_path))
        except (StopIteration, KeyError, Exception):
            continue
        states = [t.state for t in study.get_trials(deepcopy=False)]
        if TrialState.COMPLETE in states and states[-1] == TrialState.RUNNING:
            break
    assert study is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {t.number: t for t in study.get_trials() if t.state.is_finished()}
    killed = [t.number for t in study.get_trials() if t.state == TrialState.RUNNING]
    assert before and killed
    rerun = worker(config, digits_dir, fresh_database)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    trials = study.get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert sum(t.state in FINISHED for t in trials) >= 5
    for number, old in before.items():
        assert trials[number].state == old.state and trials[number].values == old.values
    assert all(trials[n].state == TrialState.FAIL for n in killed)
    assert [t for t in trials if t.system_attrs.get("failed_trial") in killed], "not retried"


def test_server_stops_mid_search_then_rerun(postgres, fresh_database, tmp_path, digits_dir):
    config = write_config(tmp_path, n_trials=6, epochs=4)
    proc = worker(config, digits_dir, fresh_database)
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.3)
        try:
            study = pg_study(fresh_database, study_name_of(tmp_path))
            if any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
                break
        except Exception:
            continue
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
    rerun = worker(config, digits_dir, fresh_database)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    study = pg_study(fresh_database, study_name_of(tmp_path))
    trials = study.get_trials()
    assert sum(t.state in FINISHED for t in trials) >= 6
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    for number, values in before.items():
        assert trials[number].values == values
