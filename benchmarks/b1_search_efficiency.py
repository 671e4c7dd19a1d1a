"""B1: search efficiency. Hypervolume of (validation error, params) reached over wall time on
MNIST-10k by paretonas (2 workers, multi-objective pruning, pre-filter) vs the course-style
script (one process, TPE, fixed epochs, per-sample DataLoader, no pruning or pre-filter) vs
random search (the same script with Optuna's RandomSampler); the same search space and the
same wall budget each, run one after another on the same machine.

Goal: paretonas reaches the course-style script's final hypervolume in at most 1/3 of the
time the script needed for it (the time of its last improvement, a stricter test than the
whole budget; both ratios are reported).

Every arm is timed from its launch, so Python and torch start-up count. The hypervolume is
normalized by the reference point (error 1, params 50,000): see ``benchmarks/common.py``.
The search space is config/search_space.yaml with ``--epochs`` fixed epochs (default 4:
28x28 trials on one thread take ~10-20 s each, so each arm sees dozens of trials).

    python -m benchmarks.b1_search_efficiency [--budget 600] [--epochs 4] [--seed 0] \
        [--out benchmarks/out/b1] [--plot docs/b1_hv_vs_time.png] [--json FILE] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    PARAMS_REF,
    REPO,
    arm_summary,
    machine,
    prepare_mnist,
    run_paretonas_arm,
    scored,
    space_with,
    time_to_reach,
    write_json,
)

GOAL = 1 / 3


def run_course_arm(
    out: Path, data: Path, space: Path, budget_s: float, *, seed: int, sampler: str
) -> dict[str, Any]:
    """The course-style script as its own process, killed at the budget."""
    records = out / f"course_{sampler}.json"
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    command = [
        sys.executable,
        "-m",
        "benchmarks.course_style",
        "--data",
        str(data),
        "--space",
        str(space),
        "--out",
        str(records),
        "--sampler",
        sampler,
        "--seed",
        str(seed),
        "--started",
        str(started),
    ]
    with (out / f"course_{sampler}.log").open("w") as log:
        proc = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            proc.wait(timeout=budget_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    trials = json.loads(records.read_text())["trials"] if records.exists() else []
    return {"trials": trials, "wall_s": time.time() - started, "workers": 1, "sampler": sampler}


def summarize(name: str, arm: dict[str, Any], budget_s: float) -> dict[str, Any]:
    summary = arm_summary(arm["trials"], budget_s)
    trained = scored(summary["within"])
    final = summary["hv"]
    return {
        "name": name,
        "final_hv": final,
        "curve": summary["curve"],
        "states": summary["states"],
        "trained_complete": len(trained),
        "last_improvement_s": time_to_reach(summary["curve"], final) if final > 0 else None,
        "best_f1": max((t["f1"] for t in trained), default=None),
    }


def plot(
    arms: list[dict[str, Any]],
    budget_s: float,
    target: float | None,
    reach: float | None,
    path: Path,
    title: str,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for arm, color in zip(arms, ["tab:blue", "tab:orange", "tab:gray"], strict=False):
        times = [t / 60 for t, _ in arm["curve"]] + [budget_s / 60]
        values = [hv for _, hv in arm["curve"]] + [arm["curve"][-1][1]]
        ax.step(
            times,
            values,
            where="post",
            color=color,
            lw=2,
            label=f"{arm['name']} ({arm['trained_complete']} trained)",
        )
    if target:
        ax.axhline(target, color="tab:orange", ls=":", lw=1)
    if reach is not None:
        ax.axvline(reach / 60, color="tab:blue", ls=":", lw=1)
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
    parser.add_argument("--budget", type=float, default=600.0, help="wall seconds per arm")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "b1")
    parser.add_argument("--plot", type=Path, default=None, help="PNG (default: under --out)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="CI smoke test: tiny budget")
    args = parser.parse_args(argv)
    if args.quick:
        args.budget, args.epochs = 12.0, 1
    data = prepare_mnist(args.out / "cache")
    space = space_with(args.out / "space.yaml", epochs=args.epochs)
    runs = {
        "course-style (TPE)": run_course_arm(
            args.out / "course", data, space, args.budget, seed=args.seed, sampler="tpe"
        ),
        "random search": run_course_arm(
            args.out / "course", data, space, args.budget, seed=args.seed, sampler="random"
        ),
        "paretonas (2 workers)": run_paretonas_arm(
            args.out / "paretonas", data, space, args.budget, seed=args.seed
        ),
    }
    arms = [summarize(name, arm, args.budget) for name, arm in runs.items()]
    course, _random, ours = arms
    target = course["final_hv"]
    reach = time_to_reach(ours["curve"], target) if target > 0 else None
    course_time = course["last_improvement_s"]
    ratio = reach / course_time if reach is not None and course_time else None
    ratio_budget = reach / args.budget if reach is not None else None
    title = (
        f"B1 on MNIST-10k ({args.epochs} epochs/trial, {args.budget / 60:.0f} min per arm, "
        f"{machine()['cores']} cores)"
    )
    path = args.plot or args.out / "b1_hv_vs_time.png"
    plot([ours, course, _random], args.budget, target, reach, path, title)
    result = {
        "benchmark": "B1 search efficiency",
        "machine": machine(),
        "budget_s": args.budget,
        "epochs": args.epochs,
        "seed": args.seed,
        "params_ref": PARAMS_REF,
        "plot": str(path),
        "arms": arms,
        "course_final_hv": target,
        "paretonas_reaches_it_at_s": reach,
        "course_reached_it_at_s": course_time,
        "goal": {
            "target": "time(paretonas reaches course final HV) / time(course reached it) <= 1/3",
            "measured": ratio,
            "vs_budget": ratio_budget,
            "met": ratio is not None and ratio <= GOAL,
        },
    }
    for arm in arms:
        print(
            f"{arm['name']:>24}: HV {arm['final_hv']:.4f} at {args.budget:.0f}s, "
            f"{arm['trained_complete']} trained, states {arm['states']}, best F1 "
            f"{arm['best_f1']}, last improvement {arm['last_improvement_s']}"
        )
    shown = f"{ratio:.3f}" if ratio is not None else "never"
    print(
        f"paretonas reaches the course-style final HV {target:.4f} at {reach} s; the course "
        f"needed {course_time} s: ratio {shown} (goal <= {GOAL:.3f}); plot {path}"
    )
    write_json(args.json or args.out / "b1.json", result)
    return result


if __name__ == "__main__":
    main()
