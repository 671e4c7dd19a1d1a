"""A worker process with a trivial objective, for load and overhead tests (not collected)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from paretonas.search import attrs
from paretonas.search.loop import run_until_done
from paretonas.search.storage import open_storage, resolve_storage


def run_load(
    kind: str, directory: Path, workers: int = 8, n_trials: int = 200, env: dict | None = None
) -> list[int]:
    """Start ``workers`` processes of this script on study "load"; the trial numbers they ran.
    Each must exit 0 without "locked" in its stderr."""
    command = [
        sys.executable,
        __file__,
        "--storage",
        kind,
        "--dir",
        str(directory),
        "--study",
        "load",
        "--n-trials",
        str(n_trials),
    ]
    procs = [
        subprocess.Popen(
            [*command, "--worker", str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    numbers: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        assert "locked" not in err
        numbers += json.loads(out.strip().splitlines()[-1])["trials"]
    return numbers


def assert_exactly(study: optuna.Study, n_trials: int, numbers: list[int]) -> None:
    """The study holds exactly ``n_trials`` finished trials; the only failures are surplus
    trials (at most one per other worker), stopped before they sampled anything."""
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) == n_trials
    assert TrialState.RUNNING not in states
    surplus = [t for t in study.trials if t.state == TrialState.FAIL]
    assert all(attrs.get(t, attrs.FAIL_REASON) == "surplus" and not t.params for t in surplus)
    assert len(surplus) <= 7
    assert len(numbers) == len(set(numbers)) == n_trials  # no trial run twice
    assert len(study.trials) == n_trials + len(surplus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--storage",
        choices=["sqlite", "journal", "env"],
        required=True,
        help="env: the URL in $PARETONAS_STORAGE (PostgreSQL)",
    )
    parser.add_argument("--dir", required=True)
    parser.add_argument("--study", required=True)
    parser.add_argument("--n-trials", type=int, required=True)
    parser.add_argument("--worker", type=int, required=True)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    env_var = "PARETONAS_STORAGE" if args.storage == "env" else "PARETONAS_LOAD_TEST_UNSET"
    info = resolve_storage("sqlite" if args.storage == "env" else args.storage, args.dir, env_var)
    study = optuna.load_study(study_name=args.study, storage=open_storage(info))
    ran = []

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -10, 10)
        ran.append(trial.number)
        return x * x

    started = time.perf_counter()
    run_until_done(
        study, objective, args.n_trials, max_failures=0, journal=args.storage == "journal"
    )
    print(
        json.dumps({"worker": args.worker, "trials": ran, "seconds": time.perf_counter() - started})
    )


if __name__ == "__main__":
    main()
