"""B6: does multi-objective successive halving (MO-ASHA, ``pruning.mode: prune``) pay for
itself? paretonas with 2 workers and the size pre-filter, on MNIST-10k (or with ``--data
digits`` the 8x8 default), paired seeds; each seed runs two arms on the same wall budget:

- ``prune``: the scheduler stops trials at rungs;
- ``shadow``: every trial trains its whole budget (no pruning), while the same rule makes
  and records its decisions. This is the no-pruning arm, and it measures the rule: the
  false-prune rate (trials it would have stopped that reached the front) and the training
  time it would have saved.

Hypervolume of (validation error, params) over time (see ``benchmarks/common.py``). Goal:
the prune arm reaches the no-pruning arm's final hypervolume in <= 0.75x the time the
no-pruning arm took to reach it (median over >= 5 paired seeds; "never" counts as the
budget over the no-pruning time, i.e. a miss).

    python -m benchmarks.b6_pruning [--budget 180] [--seeds 5] [--steps 300] \\
        [--data mnist|digits] [--eta 3] [--rungs 1] [--out benchmarks/out/b6] \\
        [--json FILE] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from benchmarks.common import (
    DATASETS,
    PARAMS_REF,
    REPO,
    arm_summary,
    machine,
    prepare_dataset,
    run_paretonas_arm,
    space_with,
    time_to_reach,
    write_json,
)

GOAL_RATIO = 0.75
ARMS = ("prune", "shadow")


def summarize(arm: dict[str, Any], budget_s: float) -> dict[str, Any]:
    summary = arm_summary(arm["trials"], budget_s)
    trained = sum(t["seconds"] for t in summary.pop("within") if not t.get("infeasible"))
    return {**summary, "trial_seconds": trained}


def shadow_figures(out: Path) -> dict[str, Any]:
    """The shadow arm's recorded decisions, judged against its own final front."""
    from paretonas.search.pruning import shadow_summary
    from paretonas.search.study import open_study

    study = open_study(out / "results" / "search" / "study.json")
    return shadow_summary(study)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=180.0, help="wall seconds per arm")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None, help="trial budget (default: space)")
    parser.add_argument("--data", choices=DATASETS, default="mnist")
    parser.add_argument("--eta", type=int, default=None, help="pruning.eta (default: config)")
    parser.add_argument("--rungs", type=int, default=None, help="pruning.rungs (default: config)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "b6")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="CI smoke test: tiny budget")
    args = parser.parse_args(argv)
    if args.quick:
        args.budget, args.seeds, args.steps, args.data = 10.0, 1, 30, "digits"
    data = prepare_dataset(args.data, args.out / "cache")
    space = space_with(args.out / "space.yaml", steps=args.steps)
    rule = {k: v for k, v in (("eta", args.eta), ("rungs", args.rungs)) if v is not None}
    seeds = []
    for seed in range(args.seeds):
        arms = {}
        for mode in ARMS:
            out = args.out / f"seed{seed}" / mode
            run = run_paretonas_arm(
                out, data, space, args.budget, seed=seed, pruning=mode, rule=rule
            )
            arms[mode] = summarize(run, args.budget)
            if mode == "shadow":
                arms[mode]["decisions"] = shadow_figures(out)
        target = arms["shadow"]["hv"]
        baseline = time_to_reach(arms["shadow"]["curve"], target) if target > 0 else None
        reach = time_to_reach(arms["prune"]["curve"], target) if target > 0 else None
        ratio = None
        if baseline:
            ratio = (reach if reach is not None else args.budget) / baseline
        decisions = arms["shadow"]["decisions"]
        seeds.append(
            {
                "seed": seed,
                **arms,
                "no_pruning_reaches_its_hv_at_s": baseline,
                "prune_reaches_it_at_s": reach,
                "time_ratio": ratio,
                "reached": reach is not None,
            }
        )
        print(
            f"seed {seed}: HV prune {arms['prune']['hv']:.4f} {arms['prune']['states']} | "
            f"no pruning {target:.4f} {arms['shadow']['states']} at {baseline} s | prune "
            f"reached it at {reach} s: ratio {ratio} | shadow: would prune "
            f"{decisions['would_prune']}, false {decisions['false_prunes']}, would save "
            f"{decisions['time_saved_fraction']:.0%} of training time",
            flush=True,
        )
    ratios = [s["time_ratio"] for s in seeds if s["time_ratio"] is not None]
    median_ratio = statistics.median(ratios) if ratios else None
    flagged = sum(s["shadow"]["decisions"]["would_prune"] for s in seeds)
    false = sum(len(s["shadow"]["decisions"]["false_prunes"]) for s in seeds)
    result = {
        "benchmark": "B6 MO-ASHA vs no pruning",
        "machine": machine(),
        "budget_s": args.budget,
        "steps": args.steps,
        "data": args.data,
        "rule": rule,
        "params_ref": PARAMS_REF,
        "seeds": seeds,
        "median_time_ratio": median_ratio,
        "mean_hv": {arm: statistics.mean(s[arm]["hv"] for s in seeds) for arm in ARMS},
        "false_prune_rate": false / flagged if flagged else 0.0,
        "would_prune": flagged,
        "time_saved_fraction_shadow": statistics.mean(
            s["shadow"]["decisions"]["time_saved_fraction"] for s in seeds
        ),
        "goal": {
            "target": f"median over seeds of (time the prune arm needs to reach the no-pruning "
            f"arm's final HV) / (time the no-pruning arm needed) <= {GOAL_RATIO}",
            "measured": median_ratio,
            "met": median_ratio is not None and median_ratio <= GOAL_RATIO,
        },
    }
    print(
        f"median time ratio {median_ratio} (goal <= {GOAL_RATIO}); mean HV {result['mean_hv']}; "
        f"false-prune rate {result['false_prune_rate']:.2f} ({false} of {flagged})"
    )
    write_json(args.json or args.out / "b6.json", result)
    return result


if __name__ == "__main__":
    main()
