"""Run the benchmarks, one process each, one after another (never two at once: they time
the same cores), and print one table of goals met or not.

    python -m benchmarks                      # full run (~70 min on 2 cores)
    python -m benchmarks --quick              # CI smoke test: tiny budgets, figures meaningless
    python -m benchmarks --only B1 B6         # a subset
    python -m benchmarks --pass "B1:--budget 900" --pass "B6:--seeds 5"   # other budgets

Each benchmark writes ``<out>/<id>.json``; the table and every goal go to
``<out>/summary.json``. Copy the figures into benchmarks/RESULTS.md with the machine, the
date and this command.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, machine, write_json

BENCHMARKS = {
    "B1": ("b1_search_efficiency", "search efficiency vs course-style script and random search"),
    "B2": ("b2_train_throughput", "train-loop throughput vs raw torch and DataLoader"),
    "B3": ("b3_worker_scaling", "trials/hour, 2 workers vs 1, same trial list"),
    "B4": ("b4_storage_overhead", "per-trial storage + worker overhead, null and real objective"),
    "B5": ("b5_workflow", "`snakemake -n` on a finished workflow; end-to-end run"),
    "B6": ("b6_pruning", "MO-ASHA vs no pruning (shadow mode), 5 paired seeds"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="tiny budgets (CI smoke test)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    parser.add_argument(
        "--pass",
        dest="passed",
        action="append",
        default=[],
        metavar="ID:ARGS",
        help="extra arguments for one benchmark",
    )
    args = parser.parse_args(argv)
    extra: dict[str, list[str]] = {}
    for item in args.passed:
        key, _, rest = item.partition(":")
        if key not in BENCHMARKS:
            parser.error(f"--pass {item!r}: unknown benchmark {key!r}")
        extra.setdefault(key, []).extend(shlex.split(rest))
    chosen = args.only or list(BENCHMARKS)
    summary = {
        "machine": machine(),
        "command": " ".join(["python -m benchmarks", *(argv or sys.argv[1:])]),
        "quick": args.quick,
        "results": {},
    }
    failed = []
    for key in chosen:
        module, what = BENCHMARKS[key]
        out = args.out / f"{key.lower()}.json"
        command = [
            sys.executable,
            "-m",
            f"benchmarks.{module}",
            "--json",
            str(out),
            *(["--quick"] if args.quick else []),
            *extra.get(key, []),
        ]
        if key in ("B1", "B6"):
            command += ["--out", str(args.out / key.lower())]
        print(f"== {key}: {what}\n   {shlex.join(command)}", flush=True)
        started = time.perf_counter()
        status = subprocess.run(command, cwd=REPO).returncode
        seconds = time.perf_counter() - started
        if status != 0 or not out.is_file():
            failed.append(key)
            summary["results"][key] = {"what": what, "exit": status, "seconds": seconds}
            continue
        goal = json.loads(out.read_text()).get("goal", {})
        summary["results"][key] = {"what": what, "exit": 0, "seconds": seconds, "goal": goal}
    write_json(args.out / "summary.json", summary)
    print(
        f"\n{'id':<4}{'goal':<70}{'measured':>12}  met   ({summary['machine']['cpu']}, "
        f"{summary['machine']['cores']} cores)"
    )
    for key, result in summary["results"].items():
        goal = result.get("goal", {})
        measured = goal.get("measured")
        shown = f"{measured:.3f}" if isinstance(measured, float) else str(measured)
        met = "FAILED" if result["exit"] else ("yes" if goal.get("met") else "no")
        print(f"{key:<4}{str(goal.get('target', result['what']))[:68]:<70}{shown:>12}  {met}")
    if args.quick:
        print("(quick mode: budgets too small for the figures to mean anything)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
