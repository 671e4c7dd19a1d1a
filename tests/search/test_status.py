"""`paretonas status`: a study with every outcome at known times (exact figures), real
searches on SQLite and journal storage, the CLI's errors and ``--watch``; then (slow) a live
search of real worker processes and a PostgreSQL study."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
import yaml
from optuna.trial import TrialState

from paretonas import pareto
from paretonas.cli.search_worker import command
from paretonas.objectives import from_names
from paretonas.search import attrs
from paretonas.search.loop import SURPLUS
from paretonas.search.progress import parse_duration
from paretonas.search.status import StatusReader, render
from tests.conftest import REPO
from tests.search.conftest import fast_space, load, run_search, search_config, start, study_json
from tests.search.studies import NOW, make_study, minutes

TRIALS = re.compile(
    r"^trials +(\d+)/(\d+) done \((\d+) complete, (\d+) infeasible, (\d+) pruned\); "
    r"(\d+) running, (\d+) waiting, (\d+) failed(?:; (\d+) surplus \(not failures\))?$",
    re.M,
)
SPEED = re.compile(r"^speed +([\d.]+) trials/min over (\S+); ETA (\S+)", re.M)
BEST = re.compile(r"^best f1 +([\d.]+) ± ([\d.]+) \(trial (\d+)\)$", re.M)
WORKER = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+(-|\d+(?:, \d+)*)\s+(-|\S+ ago)\s+(.+?)\s*$")


def section(screen: str, title: str) -> list[str]:
    """The rows of the table under the line that starts with ``title`` (header left out)."""
    lines = screen.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append(line)
    return rows


def parse(screen: str) -> dict:
    trials = TRIALS.search(screen)
    assert trials, screen
    keys = ("done", "target", "complete", "infeasible", "pruned", "running", "waiting", "fail")
    out = {"counts": dict(zip(keys, map(int, trials.groups()[:8]), strict=True))}
    out["counts"]["surplus"] = int(trials[9] or 0)
    best = BEST.search(screen)
    out["best"] = (float(best[1]), float(best[2]), int(best[3])) if best else None
    out["front"] = [int(row.split()[0]) for row in section(screen, "Pareto front")]
    workers = {}
    for row in section(screen, "workers"):
        match = WORKER.match(row)
        assert match, row
        running = [] if match[4] == "-" else [int(n) for n in match[4].split(", ")]
        workers[int(match[1])] = {
            "done": int(match[2]),
            "failed": int(match[3]),
            "running": running,
            "last_seen": None if match[5] == "-" else parse_duration(match[5].split()[0]),
            "state": match[6],
        }
    out["workers"] = workers
    speed = SPEED.search(screen)
    out["speed"] = (float(speed[1]), speed[2], speed[3]) if speed else None
    return out


def expected(study: optuna.Study) -> dict:
    """What status must say of ``study``, worked out here from the trials themselves."""
    trials = study.get_trials(deepcopy=False)
    outcomes = [
        "surplus" if attrs.reason(t) == SURPLUS and t.state == TrialState.FAIL else attrs.outcome(t)
        for t in trials
    ]
    counts = {o: outcomes.count(o) for o in (*attrs.OUTCOMES, "surplus")}
    objectives = from_names(study.metric_names)
    candidates = attrs.candidates(trials)
    best = max(candidates, key=lambda t: (t.values[0], -t.number)) if candidates else None
    front = []
    if candidates:
        points = pareto.losses(np.array([t.values for t in candidates]), objectives)
        layer = pareto.nondominated_layers(points)[0]
        front = sorted((candidates[i] for i in layer), key=lambda t: (-t.values[0], t.number))
    workers = {}
    for trial, outcome in zip(trials, outcomes, strict=True):
        row = workers.setdefault(attrs.get(trial, attrs.WORKER), [0, 0, []])
        row[0] += outcome in ("complete", "infeasible", "pruned")
        row[1] += outcome == "fail"
        if outcome == "running":
            row[2].append(trial.number)
    return {
        "counts": counts,
        "done": counts["complete"] + counts["infeasible"] + counts["pruned"],
        "best": best,
        "front": [t.number for t in front],
        "workers": workers,
    }


def check(screen: str, study: optuna.Study, target: int) -> dict:
    """The numbers ``screen`` shows are the study's."""
    shown, truth = parse(screen), expected(study)
    counts = shown["counts"]
    assert counts["done"] == truth["done"] and counts["target"] == target
    for outcome in ("complete", "infeasible", "pruned", "running", "waiting", "fail", "surplus"):
        assert counts[outcome] == truth["counts"][outcome], outcome
    best = truth["best"]
    if best is None:
        assert shown["best"] is None
    else:
        assert shown["best"][2] == best.number and shown["best"][0] == round(best.values[0], 4)
        assert shown["best"][1] == round(attrs.get(best, attrs.F1_SE), 4)
    assert shown["front"] == truth["front"][:12]
    for worker, (done, failed, running) in truth["workers"].items():
        assert shown["workers"][worker]["done"] == done
        assert shown["workers"][worker]["failed"] == failed
        assert shown["workers"][worker]["running"] == running
    return shown


# ---- a study with every outcome, at known times (tests/search/studies.py) -------------


@pytest.fixture
def made_study(tmp_path) -> Path:
    return make_study(tmp_path / "made.db")


def test_status_of_a_study_with_every_outcome(made_study):
    status = StatusReader(made_study, target=10, workers=3, grace_period=120).read(now=NOW)
    screen = render(status)
    study = optuna.load_study(study_name="made", storage=f"sqlite:///{made_study}")
    shown = check(screen, study, 10)
    # 6 trials finished in the last 15 minutes (not trial 0, nor the failed one): 0.4 a minute,
    # and 3 to go take 7.5 minutes
    assert status.rate == pytest.approx(0.4) and status.window_s == 900
    assert shown["speed"] == (0.4, "15m00s", "7m30s")
    assert "(at 12:07)" in screen
    assert shown["counts"]["done"] == 7 and shown["front"] == [0, 5, 1]
    assert shown["best"] == (0.9, 0.02, 0)
    assert shown["workers"][0] == {
        "done": 4,
        "failed": 0,
        "running": [8],
        "last_seen": 60,  # its running trial started a minute ago
        "state": "running",
    }
    assert shown["workers"][1]["last_seen"] == 120 and shown["workers"][1]["state"] == (
        "between trials"
    )
    assert shown["workers"][2] == {
        "done": 0,
        "failed": 0,
        "running": [],
        "last_seen": None,
        "state": "not started",
    }
    failures = section(screen, "failures")
    assert len(failures) == 1 and failures[0].split()[:2] == ["3", "1"]
    assert failures[0].endswith("RuntimeError: out of memory")
    assert "Pareto front: 3 of 4 complete feasible trials" in screen


def test_a_silent_worker_and_a_finished_search(made_study):
    later = minutes(3)  # the running trial started 4 minutes ago: longer than the grace period
    status = StatusReader(made_study, target=7, workers=2, grace_period=120).read(now=later)
    shown = parse(render(status))
    assert shown["workers"][0]["state"] == "silent 4m00s: dead?"
    # done (7 of 7): the rate is measured up to the last completion, not to now
    assert "the search is done" in render(status) and status.eta_s == 0
    assert status.rate == pytest.approx(7 / 15)  # trial 0 ended -16 min: inside [-17, -2]


def test_surplus_trials_are_not_failures(made_study):
    study = optuna.load_study(study_name="made", storage=f"sqlite:///{made_study}")
    surplus = optuna.trial.create_trial(
        state=TrialState.FAIL, user_attrs={attrs.FAIL_REASON: SURPLUS, attrs.WORKER: 1}
    )
    study.add_trial(surplus)  # what a worker that came too late to the target leaves
    screen = render(StatusReader(made_study, target=10, workers=2).read(now=NOW))
    shown = check(screen, study, 10)
    assert shown["counts"]["fail"] == 1 and shown["counts"]["surplus"] == 1
    assert shown["workers"][1]["failed"] == 1 and "failures  1" in screen


def test_the_front_shows_its_best_rows_and_counts_the_rest(tmp_path):
    path = tmp_path / "wide.db"
    study = optuna.create_study(storage=f"sqlite:///{path}", directions=["maximize", "minimize"])
    study.set_metric_names(["f1", "params"])
    for i in range(15):  # all on the front: better F1 costs more parameters
        study.add_trial(
            optuna.trial.create_trial(
                values=[0.5 + i / 100, 1000 + 100 * i], user_attrs={attrs.F1_SE: 0.01}
            )
        )
    screen = render(StatusReader(path, target=20).read())
    rows = section(screen, "Pareto front")
    assert [int(r.split()[0]) for r in rows[:12]] == list(range(14, 2, -1))
    assert rows[12].split() == ["+3"] and "Pareto front: 15 of 15" in screen
    assert rows[0].split() == ["14", "0.6400", "0.0100", "2,400"]


def test_status_before_the_first_trial(tmp_path, digits_dir):
    config = search_config(tmp_path, fast_space(tmp_path), n_trials=5, workers=2)
    screen = render(StatusReader(start(config, digits_dir), target=5, workers=2).read())
    assert TRIALS.search(screen).groups() == ("0", "5", "0", "0", "0", "0", "0", "0", None)
    assert "speed     ? (no trial has finished yet); ETA ?" in screen
    assert "best f1   - (no complete feasible trial yet)" in screen
    assert "(no candidates yet)" in screen and "failures  0" in screen
    assert [row["state"] for row in parse(screen)["workers"].values()] == ["not started"] * 2


# ---- real searches (in process), on SQLite and on journal storage ----------------------


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_status_of_a_real_search(tmp_path, digits_dir, kind):
    config = search_config(
        tmp_path, fast_space(tmp_path, epochs=1), n_trials=4, storage=kind, workers=2
    )
    run_search(config, digits_dir)
    status = StatusReader(study_json(config), target=4, workers=2).read()
    screen = render(status)
    shown = check(screen, load(config), 4)
    assert f"storage   {kind}: " in screen
    assert shown["workers"][1]["state"] == "not started"  # configured, never ran
    assert shown["workers"][0]["last_seen"] is not None and shown["workers"][0]["last_seen"] < 60
    assert "the search is done" in screen
    assert len(status.trials) == len(load(config).trials)


# ---- the command line ------------------------------------------------------------------


def paretonas(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "paretonas", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        **kwargs,
    )


def write_config(tmp_path: Path, **search) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"results_dir": str(tmp_path / "results"), "search": search}))
    return path


def test_missing_study_or_config_is_one_line(tmp_path):
    config = write_config(tmp_path, n_trials=5)
    result = paretonas("status", "--config", str(config))
    expected_json = tmp_path / "results" / "search" / "study.json"
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"paretonas status: error: {expected_json}: no such file (run the search stage first)"
    ]
    result = paretonas("status", "--configfile", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"paretonas status: error: {tmp_path / 'nope.yaml'}: no such file"
    ]
    result = paretonas("status", "--config", str(config), "--study", str(tmp_path / "gone.db"))
    assert result.returncode == 2 and "gone.db: no such file" in result.stderr
    assert not (tmp_path / "gone.db").exists()  # never created an empty one
    result = paretonas("status", "--config", str(config), "--watch", "0")
    assert result.returncode == 2 and "--watch: expected a number of seconds > 0" in result.stderr


def test_watch_redraws_until_ctrl_c(made_study, tmp_path):
    config = write_config(tmp_path, n_trials=10, workers=2)
    out = tmp_path / "screens.txt"
    with out.open("w") as handle:
        args = ["status", "--config", str(config), "--study", str(made_study), "--watch", "0.2"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "paretonas", *args],
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        deadline = time.time() + 90
        while time.time() < deadline and out.read_text().count("paretonas status at") < 3:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    screens = out.read_text().split("paretonas status at")[1:]
    assert proc.returncode == 0, stderr
    assert len(screens) >= 3 and "Traceback" not in stderr
    for screen in screens[:3]:  # each one whole: the figures, the front, the workers
        assert TRIALS.search(screen).group(1, 2) == ("7", "10")
        assert "Pareto front: 3 of 4" in screen and "failures  1" in screen
    assert "\x1b[" not in out.read_text()  # no terminal control codes in a file


# ---- slow: a live search of real worker processes; PostgreSQL --------------------------


@pytest.mark.slow
def test_status_of_a_live_search(tmp_path, digits_dir):
    config = search_config(
        tmp_path, fast_space(tmp_path, epochs=8), n_trials=8, workers=2, heartbeat_interval=1
    )
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    study_file = start(config, digits_dir)
    env = {**os.environ, "PARETONAS_STORAGE": ""}
    workers = [
        subprocess.Popen(
            [*command(config_path, study_file, digits_dir, i), "--report", str(tmp_path / f"{i}")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (0, 1)
    ]
    screens = tmp_path / "screens.txt"
    watch = subprocess.Popen(  # a reader the whole time: it must never hold the workers up
        [sys.executable, "-m", "paretonas", "status", "--config", str(config_path), "--watch", "1"],
        env=env,
        stdout=screens.open("w"),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 240
        while time.time() < deadline:  # wait for: a finished trial, and both workers training
            time.sleep(0.5)
            trials = load(config).get_trials(deepcopy=False)
            running = [t for t in trials if t.state == TrialState.RUNNING]
            if any(t.state.is_finished() for t in trials) and len(running) == 2:
                break
        else:
            pytest.fail("the workers never had a finished trial and two running")
        for proc in workers:  # freeze the search so that status and the test see one study
            proc.send_signal(signal.SIGSTOP)
        stopped = time.time()
        time.sleep(1.5)
        result = paretonas("status", "--config", str(config_path), env=env)
        paused = time.time() - stopped
        frozen = load(config)
        for proc in workers:
            proc.send_signal(signal.SIGCONT)
        assert result.returncode == 0, result.stderr
        shown = check(result.stdout, frozen, 8)  # running trials per worker included
        training = [row for row in shown["workers"].values() if row["running"]]
        assert training, result.stdout
        for row in training:
            assert row["state"] == "running"
            # the last heartbeat (every second) came before the freeze; SQLite's clock has
            # whole seconds: a wrong clock or time zone would be off by minutes or hours
            assert row["last_seen"] <= paused + 1 + 2
        assert shown["speed"] is not None and shown["speed"][0] > 0
        for proc in workers:
            assert proc.wait(timeout=300) == 0, proc.stderr.read()[-3000:]
        done = paretonas("status", "--config", str(config_path), env=env)
        final = check(done.stdout, load(config), 8)
        assert "the search is done" in done.stdout
        assert {final["workers"][w]["state"] for w in (0, 1)} == {"ended: target reached"}
    finally:
        for proc in [*workers, watch]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGINT if proc is watch else signal.SIGKILL)
        _, watch_err = watch.communicate(timeout=30)
    assert watch.returncode == 0, watch_err[-3000:]
    assert screens.read_text().count("paretonas status at") >= 2


@pytest.mark.slow
def test_status_of_a_postgresql_study(fresh_database, tmp_path, digits_dir, monkeypatch):
    monkeypatch.setenv("PARETONAS_STORAGE", fresh_database)
    config = search_config(tmp_path, fast_space(tmp_path, epochs=1), n_trials=3)
    run_search(config, digits_dir)
    config_path = write_config(tmp_path, n_trials=3)
    result = paretonas("status", "--config", str(config_path))
    assert result.returncode == 0, result.stderr
    check(result.stdout, load(config), 3)
    assert "storage   postgresql: postgresql://optuna:***@127.0.0.1" in result.stdout
    assert "optuna-secret" not in result.stdout + result.stderr
    unset = paretonas(
        "status", "--config", str(config_path), env={**os.environ, "PARETONAS_STORAGE": ""}
    )
    assert unset.returncode == 2 and "set $PARETONAS_STORAGE" in unset.stderr
    wrong = fresh_database.replace("optuna-secret", "wrong-secret")
    denied = paretonas(
        "status", "--config", str(config_path), env={**os.environ, "PARETONAS_STORAGE": wrong}
    )
    last = denied.stderr.strip().splitlines()[-1]  # after the logged retries
    assert denied.returncode == 2 and "Traceback" not in denied.stderr
    assert last.startswith("paretonas status: error: ") and "postgresql://optuna:***@" in last
    assert "password authentication failed" in last
    assert "wrong-secret" not in denied.stderr and "optuna-secret" not in denied.stderr


def test_status_sets_the_actual_time_beside_inits_prediction(made_study, tmp_path):
    config = tmp_path / "config.yaml"
    estimate = {"total": 600, "data": 5, "search": 400, "profile": 15, "finalize": 120}
    config.write_text(
        yaml.safe_dump(
            {
                "results_dir": str(tmp_path / "results"),
                "search": {"n_trials": 10, "workers": 2},
                "estimate": {**estimate, "bookkeeping": 60},
            }
        )
    )
    benchmarks = tmp_path / "results" / "benchmarks"
    benchmarks.mkdir(parents=True)
    (benchmarks / "prepare_data.tsv").write_text("s\th:m:s\n12.5\t0:00:12\n")
    ended = time.time() - 60  # prepare-data ended a minute ago, after 12.5 s
    os.utime(benchmarks / "prepare_data.tsv", (ended, ended))
    result = paretonas("status", "--config", str(config), "--study", str(made_study))
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    shown = re.fullmatch(
        r"time {6}predicted 10\.0 min, actual ([\d.]+) (s|min) \((\d\.\d\d)x\); per stage "
        r"predicted / "
        r"actual: data 5 s / 12 s, search 6\.7 min / \?, profile 15 s / \?, finalize 2\.0 min "
        r"/ \?, bookkeeping 60 s / \?; not run yet: search, profile, finalize, baseline, report",
        line,
    )
    assert shown, line
    actual = float(shown[1]) * (60 if shown[2] == "min" else 1)
    assert actual >= 72  # from prepare-data's start (72.5 s ago) up to now
    assert float(shown[3]) == pytest.approx(actual / 600, abs=0.01)
