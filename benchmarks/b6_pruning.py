"""B6: multi-objective pruning ablation. paretonas (2 workers, pre-filter) with and without
pruning, the same wall budget, seeds 0..``--seeds``-1, on MNIST-10k; hypervolume of
(validation error, params) at the budget (see ``benchmarks/common.py``).

Goal: with pruning, hypervolume ≥ without, at equal time (judged on the mean over seeds and
reported per seed). Time saved: how much sooner the pruning arm reached the final
hypervolume of the arm without pruning (budget minus that time; "never" when it did not).

    python -m benchmarks.b6_pruning [--budget 300] [--seeds 3] [--epochs 4] \
        [--out benchmarks/out/b6] [--json FILE] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from benchmarks.common import (
    PARAMS_REF,
    REPO,
    arm_summary,
    machine,
    prepare_mnist,
    run_paretonas_arm,
    space_with,
    time_to_reach,
    write_json,
)


def summarize(arm: dict[str, Any], budget_s: float) -> dict[str, Any]:
    summary = arm_summary(arm["trials"], budget_s)
    trained = sum(t["seconds"] for t in summary.pop("within") if not t.get("infeasible"))
    return {**summary, "trial_seconds": trained}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=300.0, help="wall seconds per arm")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "b6")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="CI smoke test: tiny budget")
    args = parser.parse_args(argv)
    if args.quick:
        args.budget, args.seeds, args.epochs = 12.0, 1, 1
    data = prepare_mnist(args.out / "cache")
    space = space_with(args.out / "space.yaml", epochs=args.epochs)
    seeds = []
    for seed in range(args.seeds):
        arms = {}
        for pruning in (True, False):
            name = "pruning" if pruning else "no_pruning"
            run = run_paretonas_arm(
                args.out / f"seed{seed}" / name,
                data,
                space,
                args.budget,
                seed=seed,
                pruning=pruning,
            )
            arms[name] = summarize(run, args.budget)
        target = arms["no_pruning"]["hv"]
        reach = time_to_reach(arms["pruning"]["curve"], target) if target > 0 else None
        saved = args.budget - reach if reach is not None else None
        seeds.append(
            {
                "seed": seed,
                **arms,
                "pruning_reaches_no_pruning_hv_at_s": reach,
                "time_saved_s": saved,
            }
        )
        print(
            f"seed {seed}: HV pruning {arms['pruning']['hv']:.4f} {arms['pruning']['states']}"
            f" | no pruning {target:.4f} {arms['no_pruning']['states']} | pruning reached "
            f"it at {reach} s of {args.budget:.0f}"
        )
    with_pruning = statistics.mean(s["pruning"]["hv"] for s in seeds)
    without = statistics.mean(s["no_pruning"]["hv"] for s in seeds)
    wins = sum(s["pruning"]["hv"] >= s["no_pruning"]["hv"] for s in seeds)
    saved = [s["time_saved_s"] for s in seeds if s["time_saved_s"] is not None]
    result = {
        "benchmark": "B6 pruning ablation",
        "machine": machine(),
        "budget_s": args.budget,
        "epochs": args.epochs,
        "params_ref": PARAMS_REF,
        "seeds": seeds,
        "mean_hv": {"pruning": with_pruning, "no_pruning": without},
        "seeds_pruning_not_worse": wins,
        "mean_time_saved_s": statistics.mean(saved) if saved else None,
        "goal": {
            "target": "mean HV with pruning >= without, at equal wall time",
            "measured": with_pruning / without if without else None,
            "met": with_pruning >= without,
        },
    }
    print(
        f"mean HV: pruning {with_pruning:.4f} vs none {without:.4f} "
        f"(ratio {result['goal']['measured']}); pruning not worse in {wins}/{len(seeds)} "
        f"seeds; time saved {saved} s"
    )
    write_json(args.json or args.out / "b6.json", result)
    return result


if __name__ == "__main__":
    main()
