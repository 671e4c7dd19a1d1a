"""B1: search efficiency against the course's method, made as fair as we can make it.

On MNIST-10k (or with ``--data digits`` the 8x8 default), per seed, two arms one after the
other on the same machine, the same search space, the same training budget in optimizer
steps, the same wall budget:

- ``course``: the course's method as it teaches it (``benchmarks/course_style.py``): N
  processes on one SQLite study, the same TPE settings and the same size budget as a
  constraint (over-budget models are not trained), one thread each; every trial trains its
  whole budget with a per-sample DataLoader.
- ``paretonas``: N search workers (MO-ASHA pruning, the pre-filter, in-memory batches).

Reported per arm: hypervolume of (validation error, params) over time (normalized by the
reference point error 1, params 50,000: see ``benchmarks/common.py``), its area under the
curve (mean HV over the budget), the time to reach 50/75/90/100% of the course's final HV,
and the hypervolume of each arm's final validation front re-scored on the **test split**
(the front models' best-validation weights, on images no search saw).

Goal: paretonas reaches the course arm's final validation HV in <= 0.5x the time the
course arm took to reach it (its last improvement), median over >= 3 seeds.

    python -m benchmarks.b1_search_efficiency [--budget 300] [--seeds 3] [--steps N] \\
        [--workers 2] [--data mnist|digits] [--eta 3] [--rungs 1] [--out benchmarks/out/b1] \\
        [--plot FILE] [--json FILE] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    DATASETS,
    PARAMS_REF,
    REPO,
    arm_summary,
    hypervolume,
    machine,
    normalized,
    prepare_dataset,
    run_paretonas_arm,
    scored,
    space_with,
    time_to_reach,
    write_json,
)

GOAL = 0.5
FRACTIONS = (0.5, 0.75, 0.9, 1.0)


def run_course_arm(
    out: Path, data: Path, space: Path, budget_s: float, *, seed: int, workers: int
) -> dict[str, Any]:
    """``workers`` course-style processes on one fresh SQLite study, killed at the budget."""
    import optuna

    out.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{out / 'study.db'}"
    name = f"course-seed{seed}"
    optuna.create_study(  # created once, before the processes race to create it
        directions=["maximize", "minimize", "minimize"], storage=storage, study_name=name
    )
    started = time.time()
    procs = []
    for worker in range(workers):
        command = [
            sys.executable,
            "-m",
            "benchmarks.course_style",
            *("--data", str(data), "--space", str(space)),
            *("--out", str(out / f"worker{worker}.json")),
            *("--storage", storage, "--study", name),
            *("--worker", str(worker), "--workers", str(workers), "--seed", str(seed)),
            *("--params-max", str(PARAMS_REF), "--started", str(started)),
        ]
        log = (out / f"worker{worker}.log").open("w")
        procs.append(subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT))
    try:
        while time.time() - started < budget_s and any(p.poll() is None for p in procs):
            time.sleep(0.2)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    trials = []
    for worker in range(workers):
        path = out / f"worker{worker}.json"
        if path.exists():
            trials += json.loads(path.read_text())["trials"]
    return {"trials": trials, "wall_s": time.time() - started, "workers": workers}


def paretonas_weights(out: Path, trials: list[dict[str, Any]]) -> None:
    """Point each trained paretonas trial record at its archived best-validation weights."""
    from paretonas.search import archive
    from paretonas.search.study import read_record

    record = read_record(out / "results" / "search" / "study.json")
    for trial in trials:
        path = archive.trial_dir(record.directory, trial["number"]) / "weights.pt"
        if "f1" in trial and path.exists():
            trial["weights"] = str(path)


def test_hv(trials: list[dict[str, Any]], data: Path) -> dict[str, Any]:
    """The validation front of ``trials`` (error, params), each model re-scored on the test
    split from its best-validation weights: the hypervolume of (test error, params)."""
    import torch

    from paretonas.data import load_manifest, load_split
    from paretonas.models import ModelSpec, build_model
    from paretonas.pareto import nondominated_layers
    from paretonas.search.archive import load_weights
    from paretonas.training import Split, evaluate

    done = [t for t in scored(trials) if t.get("weights")]
    if not done:
        return {"hv": 0.0, "front": []}
    front = nondominated_layers(np.array([normalized(t) for t in done]))[0]
    manifest = load_manifest(data)
    norm = manifest["normalization"]
    test = Split(*load_split(data, "full/test"))
    torch.set_num_threads(2)
    rows = []
    for index in front:
        trial = done[index]
        checkpoint = load_weights(trial["weights"])
        model = build_model(ModelSpec.from_dict(checkpoint["spec"]))
        model.load_state_dict(checkpoint["state_dict"])
        result = evaluate(
            model, test, mean=norm["mean"], std=norm["std"], device="cpu",
            num_classes=manifest["num_classes"],
        )  # fmt: skip
        rows.append({"number": trial["number"], "val_f1": trial["f1"],
                     "test_f1": result.f1_macro, "params": trial["params"]})  # fmt: skip
    points = [(1 - r["test_f1"], r["params"] / PARAMS_REF) for r in rows]
    return {"hv": hypervolume(points), "front": rows}


def area_under(curve: list[tuple[float, float]], budget_s: float) -> float:
    """Mean hypervolume over [0, budget] of a step curve (the area under it / the budget)."""
    area, (last_t, last_hv) = 0.0, (0.0, 0.0)
    for t, hv in curve:
        t = min(t, budget_s)
        area += (t - last_t) * last_hv
        last_t, last_hv = t, hv
    area += (budget_s - last_t) * last_hv
    return area / budget_s


def summarize(name: str, arm: dict[str, Any], budget_s: float, data: Path) -> dict[str, Any]:
    summary = arm_summary(arm["trials"], budget_s)
    trained = scored(summary["within"])
    final = summary["hv"]
    tested = test_hv(summary["within"], data)
    return {
        "name": name,
        "final_hv": final,
        "test_hv": tested["hv"],
        "test_front": tested["front"],
        "auc_hv": area_under(summary["curve"], budget_s),
        "curve": summary["curve"],
        "states": summary["states"],
        "trained_complete": len(trained),
        "last_improvement_s": time_to_reach(summary["curve"], final) if final > 0 else None,
        "best_f1": max((t["f1"] for t in trained), default=None),
    }


def plot(seeds: list[dict[str, Any]], budget_s: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    colors = {"paretonas": "tab:blue", "course": "tab:orange"}
    for seed in seeds:
        for arm in seed["arms"]:
            times = [t / 60 for t, _ in arm["curve"]] + [budget_s / 60]
            values = [hv for _, hv in arm["curve"]] + [arm["curve"][-1][1]]
            label = f"{arm['name']}" if seed["seed"] == 0 else None
            ax.step(times, values, where="post", color=colors[arm["name"]], lw=1.5, alpha=0.8,
                    label=label)  # fmt: skip
    ax.set_xlabel("wall time since launch (min)")
    ax.set_ylabel(f"hypervolume (val error, params ≤ {PARAMS_REF:,})")
    ax.set_title(title, fontsize=10)
    ax.set_xlim(0, budget_s / 60)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=300.0, help="wall seconds per arm")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="trial budget (default: space)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", choices=DATASETS, default="mnist")
    parser.add_argument("--eta", type=int, default=None, help="pruning.eta (default: config)")
    parser.add_argument("--rungs", type=int, default=None, help="pruning.rungs (default: config)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "b1")
    parser.add_argument("--plot", type=Path, default=None, help="PNG (default: under --out)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="CI smoke test: tiny budget")
    args = parser.parse_args(argv)
    if args.quick:
        args.budget, args.seeds, args.steps, args.data = 14.0, 1, 30, "digits"
    data = prepare_dataset(args.data, args.out / "cache")
    space = space_with(args.out / "space.yaml", steps=args.steps)
    rule = {k: v for k, v in (("eta", args.eta), ("rungs", args.rungs)) if v is not None}
    seeds = []
    for seed in range(args.seeds):
        course_run = run_course_arm(
            args.out / f"seed{seed}" / "course", data, space, args.budget,
            seed=seed, workers=args.workers,
        )  # fmt: skip
        ours_out = args.out / f"seed{seed}" / "paretonas"
        ours_run = run_paretonas_arm(
            ours_out, data, space, args.budget, seed=seed, workers=args.workers, rule=rule
        )
        paretonas_weights(ours_out, ours_run["trials"])
        course = summarize("course", course_run, args.budget, data)
        ours = summarize("paretonas", ours_run, args.budget, data)
        target = course["final_hv"]
        reach = time_to_reach(ours["curve"], target) if target > 0 else None
        course_time = course["last_improvement_s"]
        ratio = None
        if course_time:
            ratio = (reach if reach is not None else args.budget) / course_time
        targets = {
            f"{fraction:.0%}": {
                arm["name"]: time_to_reach(arm["curve"], fraction * target)
                for arm in (ours, course)
            }
            for fraction in FRACTIONS
        }
        seeds.append(
            {
                "seed": seed,
                "arms": [ours, course],
                "course_final_hv": target,
                "paretonas_reaches_it_at_s": reach,
                "course_reached_it_at_s": course_time,
                "time_ratio": ratio,
                "time_to_targets_s": targets,
            }
        )
        print(
            f"seed {seed}: course HV {target:.4f} (test {course['test_hv']:.4f}, AUC "
            f"{course['auc_hv']:.4f}, {course['trained_complete']} trained) at {course_time} s; "
            f"paretonas HV {ours['final_hv']:.4f} (test {ours['test_hv']:.4f}, AUC "
            f"{ours['auc_hv']:.4f}, {ours['trained_complete']} trained, {ours['states']}) "
            f"reached it at {reach} s: ratio {ratio}",
            flush=True,
        )
    ratios = [s["time_ratio"] for s in seeds if s["time_ratio"] is not None]
    median_ratio = statistics.median(ratios) if ratios else None
    path = args.plot or args.out / "b1_hv_vs_time.png"
    dataset = "MNIST-10k" if args.data == "mnist" else "digits"
    title = (
        f"B1 on {dataset}: paretonas vs the course's method ({args.workers} processes each, "
        f"{args.budget:.0f} s per arm, {len(seeds)} seeds)"
    )
    plot(seeds, args.budget, path, title)

    def mean_of(name: str, key: str) -> float:
        return statistics.mean(a[key] for s in seeds for a in s["arms"] if a["name"] == name)

    result = {
        "benchmark": "B1 search efficiency vs the course's method",
        "machine": machine(),
        "budget_s": args.budget,
        "steps": args.steps,
        "workers": args.workers,
        "data": args.data,
        "rule": rule,
        "params_ref": PARAMS_REF,
        "plot": str(path),
        "seeds": seeds,
        "median_time_ratio": median_ratio,
        "mean": {
            name: {key: mean_of(name, key) for key in ("final_hv", "test_hv", "auc_hv")}
            for name in ("paretonas", "course")
        },
        "goal": {
            "target": "median over seeds of time(paretonas reaches the course arm's final val "
            f"HV) / time(the course arm reached it) <= {GOAL}",
            "measured": median_ratio,
            "met": median_ratio is not None and median_ratio <= GOAL,
        },
    }
    print(f"median time ratio {median_ratio} (goal <= {GOAL}); means {result['mean']}; plot {path}")
    write_json(args.json or args.out / "b1.json", result)
    return result


if __name__ == "__main__":
    main()
