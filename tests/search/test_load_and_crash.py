"""Many workers on one study (load), and a worker killed mid-trial (crash recovery),
on SQLite and on journal storage: real processes, real storages."""

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

STORAGES = ["sqlite", "journal"]


@pytest.mark.parametrize("kind", STORAGES)
def test_eight_workers_share_one_study(tmp_path, kind):
    info = resolve_storage(kind, tmp_path, env_var="PARETONAS_LOAD_TEST_UNSET")
    optuna.create_study(study_name="load", storage=open_storage(info))
    numbers = run_load(kind, tmp_path)
    study = optuna.load_study(study_name="load", storage=open_storage(info))
    assert_exactly(study, 200, numbers)


def _worker_cmd(config: dict, data_dir: Path) -> list[str]:
    """Start the study of ``config`` (written beside it as config.yaml); the worker command."""
    config_path = Path(config["results_dir"]).parent / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    return worker_command(config_path, start(config, data_dir), data_dir, 0)


def kill_mid_trial(command: list[str], env: dict, config: dict) -> optuna.Study:
    """Start the worker, SIGKILL it once a trial is training (>= 1 finished before it)."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait for: >= 1 finished trial and one training
        time.sleep(0.3)
        study = load(config)
        trials = study.get_trials(deepcopy=False)
        states = [t.state for t in trials]
        if TrialState.COMPLETE in states and states[-1] == TrialState.RUNNING:
            archived = attrs.get(trials[-1], attrs.ARCHIVE)  # its parameters are all drawn
            if archived and (Path(archived) / "hparams.yaml").is_file():
                break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return load(config)


@pytest.mark.parametrize("kind", STORAGES)
def test_kill_9_mid_trial_then_rerun(tmp_path, digits_dir, kind):
    config = search_config(
        tmp_path,
        fast_space(tmp_path, epochs=6),
        n_trials=8,
        storage=kind,
        heartbeat_interval=1,
        grace_period=3,
    )
    env = {**os.environ, "PARETONAS_STORAGE": ""}
    command = _worker_cmd(config, digits_dir)
    for _ in range(3):  # a short trial can end between the look and the kill: then again
        study = kill_mid_trial(command, env, config)
        killed = [t.number for t in study.get_trials() if t.state == TrialState.RUNNING]
        if killed:
            break
    before = {t.number: t for t in study.get_trials() if t.state.is_finished()}
    assert before and killed

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    trials = study.get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) >= 8
    for number, old in before.items():  # nothing finished was lost or changed
        assert trials[number].state == old.state and trials[number].values == old.values
    assert all(trials[n].state == TrialState.FAIL for n in killed)
    retried = [
        t
        for t in trials
        if t.number not in before
        and t.number not in killed
        and t.params == trials[killed[0]].params
    ]
    assert retried, "the killed trial's parameters were not re-run"


def test_sigterm_ends_the_trial_and_requeues_it(tmp_path, digits_dir):
    config = search_config(tmp_path, fast_space(tmp_path, epochs=30), n_trials=3)
    report = tmp_path / "report.json"
    proc = subprocess.Popen(
        [*_worker_cmd(config, digits_dir), "--report", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    trials_dir = None
    while time.time() < deadline:  # wait until a trial is training (its config is archived)
        time.sleep(0.3)
        found = list((tmp_path / "results" / "search").glob("paretonas-*/trials/0/model.yaml"))
        if found:
            trials_dir = found[0].parent.parent
            break
    assert trials_dir is not None
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err[-2000:]
    assert "re-run to continue" in err.strip().splitlines()[-1]  # a clean exit, not a crash
    assert not report.exists()  # the Snakemake output is only written when the study is done
    study = load(config)
    first = study.trials[0]
    assert first.state == TrialState.FAIL and attrs.get(first, attrs.FAIL_REASON) == "terminated"
    assert study.trials[1].state == TrialState.WAITING
    assert study.trials[1].system_attrs["fixed_params"] == first.params  # re-queued
    metrics = json.loads((trials_dir / "0" / "metrics.json").read_text())
    assert metrics["state"] == "fail" and metrics["reason"] == "terminated"


def test_walltime_budget_stops_taking_trials(tmp_path, digits_dir, monkeypatch):
    from paretonas.search.worker import WalltimeBudget

    monkeypatch.setenv("SLURM_JOB_END_TIME", str(int(time.time()) + 5))
    budget = WalltimeBudget.from_env(None, time.time())
    assert budget.exhausted([]) is None  # no trial yet: no typical duration
    assert budget.exhausted([{"seconds": 1.0}]) is None
    reason = budget.exhausted([{"seconds": 30.0}, {"seconds": 40.0}])
    assert reason is not None and reason.startswith("walltime:")
    monkeypatch.delenv("SLURM_JOB_END_TIME")
    assert WalltimeBudget.from_env(None, time.time()).deadline is None
    config = search_config(tmp_path, fast_space(tmp_path), n_trials=50, walltime_s=1)
    result = subprocess.run(
        _worker_cmd(config, digits_dir), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 75, result.stderr[-2000:]
    assert "walltime" in result.stderr
