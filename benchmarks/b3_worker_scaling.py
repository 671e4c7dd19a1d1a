"""B3, worker scaling: trials/hour with 2 search workers vs 1 on the same fixed trial list.

Method:

1. Prepare MNIST-10k (``data/mnist-t10k``, idx source, ``search_fraction`` 0.2; ``--quick``:
   the built-in 8x8 digits) once with ``paretonas.data.prepare_data``.
2. Draw N distinct parameter sets once, through the real search space: config/search_space.yaml
   with ``hparams.epochs`` fixed to ``--epochs`` (default 1: the space's 200 steps make a mean
   MNIST trial ~1-2 min on this 2-core machine; ``--epochs 0`` keeps the space's), with a
   seeded RandomSampler on a throwaway in-memory study (``SearchSpace.sample``; duplicates by
   the objective's config hash are redrawn, so no trial is ever "reused" instead of trained).
3. Per arm (1 worker, then 2 workers, one torch thread each; then 1 worker of 2 threads,
   ``search.threads_per_worker: 2``, the other way to use 2 cores): a fresh ``results_dir``
   (fresh SQLite study), the study created by ``paretonas.search.worker.open_study`` and
   every parameter set enqueued in the same order, ``pruning.mode: off`` and
   ``search.n_trials`` = N, so every arm trains exactly the same trials (trial i gets
   parameter set i and the same training seed).
   The arm runs as real ``paretonas search-worker`` processes; wall time is from launch until
   all of them exit (Python + torch start-up and the last worker's end-of-study poll, up to
   2 s, included, as a user pays them).

Figures per arm: trials/hour from that wall time, trials/hour over the trial span (first trial
start to last trial end: start-up excluded), the summed per-trial seconds (Optuna's trial
durations) and busy = summed trial seconds / (wall x workers). The summed trial seconds going
up from 1 to 2 workers is contention (2 trainings sharing 2 cores, memory bandwidth); a low
busy fraction is idle time (start-up, waiting). Goal: 2-worker / 1-worker trials/hour >= 1.8.
Also printed: 2 workers x 1 thread / 1 worker x 2 threads trials/hour (which to choose).

Both arms are checked to hold N complete trials with the same parameters per trial number.
Usage::

    .venv/bin/python -m benchmarks.b3_worker_scaling [--trials 20] [--epochs 1]
        [--data mnist|digits] [--quick] [--work DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
import yaml

from benchmarks.common import REPO, write_json
from paretonas.cli.search_study import start_from_config
from paretonas.cli.search_worker import command as worker_command
from paretonas.config import validate_config
from paretonas.data import load_manifest, prepare_data
from paretonas.search import attrs
from paretonas.search.objective import config_hash
from paretonas.search.space import DataShape, load_space
from paretonas.search.study import open_study

MNIST = REPO / "data" / "mnist-t10k"
DATA = {  # the config's data section per --data choice
    "mnist": {"source": "idx", "path": str(MNIST), "search_fraction": 0.2},
    "digits": {},  # the built-in default: scikit-learn's 8x8 digits
}
SPACE = REPO / "config" / "search_space.yaml"
# (workers, torch threads each): 1 then 2 workers of one thread (the scaling goal), then the
# arm a user chooses between on 2 cores: 1 worker of 2 threads
ARMS = ((1, 1), (2, 1), (1, 2))
GOAL_RATIO = 1.8


def space_file(work: Path, epochs: int | None) -> Path:
    """The default space, or a copy of it with ``hparams.epochs`` fixed to ``epochs``."""
    if epochs is None:
        return SPACE
    space = yaml.safe_load(SPACE.read_text(encoding="utf-8"))
    space["hparams"].pop("steps", None)
    space["hparams"]["epochs"] = epochs
    path = work / "search_space.yaml"
    path.write_text(yaml.safe_dump(space, sort_keys=False), encoding="utf-8")
    return path


def arm_config(
    results_dir: Path,
    space: Path,
    data: dict,
    n_trials: int,
    workers: int,
    seed: int,
    threads: int = 1,
) -> dict:
    return validate_config(
        {
            "seed": seed,
            "results_dir": str(results_dir),
            "data": data,
            "search": {
                "space": str(space),
                "n_trials": n_trials,
                "workers": workers,
                "threads_per_worker": threads,
                "sampler": "random",
            },
            "pruning": {"mode": "off"},
        }
    )


def draw_params(space_path: Path, data_dir: Path, n: int, seed: int) -> list[dict[str, Any]]:
    """N distinct parameter sets from the real space, sampled by a seeded RandomSampler."""
    space = load_space(space_path)
    manifest = load_manifest(data_dir)
    shape = DataShape(tuple(manifest["input_shape"]), manifest["num_classes"])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    drawn: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(50 * n):
        trial = study.ask()
        sample = space.sample(trial, shape)
        key = config_hash(sample.spec.to_yaml(), sample.hparams)
        study.tell(trial, 0.0)
        if key not in seen:
            seen.add(key)
            drawn.append(dict(trial.params))
        if len(drawn) == n:
            return drawn
    raise RuntimeError(f"could not draw {n} distinct parameter sets")


def run_arm(
    workers: int,
    params: list[dict],
    space: Path,
    data: dict,
    data_dir: Path,
    work: Path,
    seed: int,
    threads: int = 1,
) -> dict[str, Any]:
    """One arm: fresh study, params enqueued, ``workers`` search-worker processes of
    ``threads`` torch threads each."""
    arm_dir = work / f"arm{workers}x{threads}"
    shutil.rmtree(arm_dir, ignore_errors=True)
    arm_dir.mkdir(parents=True)
    config = arm_config(arm_dir / "results", space, data, len(params), workers, seed, threads)
    config_path = arm_dir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    study_json = arm_dir / "results" / "search" / "study.json"
    start_from_config(config, study_json, data_dir)
    study = open_study(study_json)
    for item in params:
        study.enqueue_trial(item)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    logs = [(arm_dir / f"worker{i}.log").open("w", encoding="utf-8") for i in range(workers)]
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            worker_command(config_path, study_json, data_dir, i),
            cwd=REPO,
            env=env,
            stdout=logs[i],
            stderr=subprocess.STDOUT,
        )
        for i in range(workers)
    ]
    codes = [proc.wait() for proc in procs]
    wall = time.perf_counter() - start
    for log in logs:
        log.close()
    for i, code in enumerate(codes):
        if code != 0:
            tail = (arm_dir / f"worker{i}.log").read_text(encoding="utf-8")[-3000:]
            raise RuntimeError(f"arm {workers}: worker {i} exited {code}\n{tail}")
    trials = open_study(study_json).get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    durations = [t.duration.total_seconds() for t in complete if t.duration]
    span = max(t.datetime_complete for t in complete) - min(t.datetime_start for t in complete)
    n = len(complete)
    return {
        "workers": workers,
        "threads": threads,
        "label": f"{workers}x{threads}",
        "wall_s": wall,
        "trials_complete": n,
        "trials_other": len(trials) - n,
        "trials_per_hour": n / wall * 3600,
        "span_s": span.total_seconds(),
        "trials_per_hour_span": n / span.total_seconds() * 3600,
        "trial_seconds_sum": sum(durations),
        "trial_seconds_mean": sum(durations) / max(1, len(durations)),
        "busy_fraction": sum(durations) / (wall * workers),
        "reused": sum(1 for t in complete if attrs.get(t, attrs.REUSED_FROM) is not None),
        "by_worker": {
            str(w): sum(1 for t in complete if attrs.get(t, attrs.WORKER) == w)
            for w in range(workers)
        },
        "params": {t.number: t.params for t in complete},
    }


def check_arms(params: list[dict], arms: list[dict[str, Any]]) -> list[str]:
    """Problems that make the comparison unfair: missing trials, differing parameters."""
    problems = []
    for arm in arms:
        label = f"{arm['workers']} worker(s) x {arm['threads']} thread(s)"
        if arm["trials_complete"] != len(params) or arm["trials_other"]:
            problems.append(
                f"{label}: {arm['trials_complete']} complete, "
                f"{arm['trials_other']} other, expected {len(params)} complete"
            )
        if arm["reused"]:
            problems.append(f"{label}: {arm['reused']} trial(s) reused, not trained")
        for number, expected in enumerate(params):
            got = arm["params"].get(number)
            if got != expected:
                problems.append(f"{label}: trial {number} params {got} != drawn {expected}")
                break
    return problems


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, help="trials per arm (default 20; quick 4)")
    parser.add_argument("--epochs", type=int, help="fix hparams.epochs (default 1; 0: the space's)")
    parser.add_argument("--data", choices=sorted(DATA), help="default mnist; quick digits")
    parser.add_argument("--seed", type=int, default=0, help="draw seed and config seed")
    parser.add_argument("--quick", action="store_true", help="smoke test: 4 trials on digits")
    parser.add_argument("--work", type=Path, help="working directory (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    n_trials = args.trials or (4 if args.quick else 20)
    epochs = None if args.epochs == 0 else (args.epochs or 1)
    data_name = args.data or ("digits" if args.quick else "mnist")

    temp = None if args.work else tempfile.TemporaryDirectory(prefix="paretonas-b3-")
    work = args.work or Path(temp.name)
    try:
        work.mkdir(parents=True, exist_ok=True)
        data_dir = work / f"data-{data_name}"
        if not (data_dir / "manifest.json").exists():
            prepare_data(validate_config({"data": DATA[data_name]}), data_dir)
        space = space_file(work, epochs)
        hparams = yaml.safe_load(space.read_text(encoding="utf-8"))["hparams"]
        steps = hparams.get("steps")
        budget = f"{steps} steps" if steps else f"{hparams['epochs']} epochs"
        params = draw_params(space, data_dir, n_trials, args.seed)
        arms = []
        for workers, threads in ARMS:
            arm = run_arm(
                workers, params, space, DATA[data_name], data_dir, work, args.seed, threads
            )
            print(
                f"{workers} worker(s) x {threads} thread(s): {arm['trials_complete']} trials "
                f"in {arm['wall_s']:.1f}s",
                file=sys.stderr,
            )
            arms.append(arm)
    finally:
        if temp is not None:
            temp.cleanup()

    problems = check_arms(params, arms)
    one, two, threaded = arms
    ratio = two["trials_per_hour"] / one["trials_per_hour"]
    choice = two["trials_per_hour"] / threaded["trials_per_hour"]
    span_ratio = two["trials_per_hour_span"] / one["trials_per_hour_span"]
    print(
        f"{data_name} search split, {n_trials} fixed trials, {budget}, "
        f"pruning off, {os.cpu_count()} CPU(s)"
    )
    print(
        f"{'w x thr':<9}{'wall s':>9}{'trials/h':>10}{'span trials/h':>15}"
        f"{'sum trial s':>13}{'mean trial s':>14}{'busy':>7}"
    )
    for arm in arms:
        print(
            f"{arm['label']:<9}{arm['wall_s']:>9.1f}{arm['trials_per_hour']:>10.0f}"
            f"{arm['trials_per_hour_span']:>15.0f}{arm['trial_seconds_sum']:>13.1f}"
            f"{arm['trial_seconds_mean']:>14.2f}{arm['busy_fraction']:>7.2f}"
        )
    contention = two["trial_seconds_sum"] / one["trial_seconds_sum"]
    print(
        f"2/1 trials/hour: {ratio:.2f} (span only: {span_ratio:.2f}); "
        f"2/1 summed trial seconds (contention): {contention:.2f}; "
        f"2 workers x 1 thread / 1 worker x 2 threads trials/hour: {choice:.2f}"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    result = {
        "benchmark": "b3_worker_scaling",
        "config": {
            "trials": n_trials,
            "budget": budget,
            "seed": args.seed,
            "quick": args.quick,
            "cpus": os.cpu_count(),
            "data": {"name": data_name, **DATA[data_name]},
            "sampler_for_draw": "random",
        },
        "arms": [{k: v for k, v in arm.items() if k != "params"} for arm in arms],
        "ratio_trials_per_hour": ratio,
        "ratio_trials_per_hour_span": span_ratio,
        "ratio_trial_seconds_sum": contention,
        "ratio_2x1_over_1x2": choice,
        "params_match": not problems,
        "problems": problems,
        "goal": {
            "target": f"2-worker / 1-worker trials/hour >= {GOAL_RATIO}",
            "measured": ratio,
            "met": ratio >= GOAL_RATIO and not problems,
        },
    }
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    outcome = main()
    sys.exit(0 if not outcome["problems"] else 1)
