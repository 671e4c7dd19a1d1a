"""Latency of the default front in eager torch, TorchScript and ONNX Runtime, and how well two
profiles agree with a CPU-bound neighbour on one core.

Runtimes: each front model (layer 0 of the profile's latency.csv) is exported as the profile
step does (``paretonas.runtimes.model_call``) and all three runtimes of all models, plus the
reference network, are timed in the same interleaved rounds (one thread, pinned to the CPU
``choose_cpu`` picks), ``--repeats`` times with the order shuffled by seed. The table gives each
model's p10 in each runtime (median over repeats) and the spread over repeats.

Neighbour (``--neighbour``): ``paretonas profile`` of the snapshot three times against one
machine baseline: quiet, then with a busy-loop process pinned to the last CPU, then to the
first; the median and largest difference in milliseconds against the quiet run.

Usage (on a finished default run)::

    .venv/bin/python -m benchmarks.runtime_latency --results results [--repeats 3] \\
        [--rounds 150] [--neighbour] [--write-results benchmarks/RESULTS.md] [--json FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import machine, write_json
from paretonas.yamlio import atomic_write_text

RUNTIMES = ("torch", "torchscript", "onnxruntime")


def time_runtimes(trials: Path, front: list[int], repeats: int, rounds: int) -> dict:
    """p10 ms of every (model, runtime), per repeat."""
    import torch

    from paretonas.host_speed import pinned_to_fastest_cpu
    from paretonas.models import ModelSpec, build_model
    from paretonas.models.costs import time_calls
    from paretonas.profile import REFERENCE
    from paretonas.runtimes import RuntimeSkipped, model_call

    torch.set_num_threads(1)
    specs = {t: ModelSpec.from_yaml(trials / str(t) / "model.yaml") for t in front}
    specs["reference"] = ModelSpec.from_dict(REFERENCE, source="REFERENCE")
    keys, calls, skipped = [], [], {}
    with tempfile.TemporaryDirectory(prefix="runtime-latency-") as workdir:
        for name, spec in specs.items():
            model = build_model(spec)
            for runtime in RUNTIMES:
                try:
                    calls.append(model_call(model, model.input_shape, runtime, Path(workdir)))
                    keys.append((name, runtime))
                except RuntimeSkipped as exc:
                    skipped[f"{name}/{runtime}"] = str(exc)
        figures: dict[str, list[float]] = {f"{n}/{r}": [] for n, r in keys}
        cpus = []
        for seed in range(repeats):
            order = list(range(len(calls)))
            random.Random(seed).shuffle(order)
            with pinned_to_fastest_cpu(calls[keys.index(("reference", "torch"))]) as (cpu, _):
                cpus.append(cpu)
                timed = time_calls([calls[i] for i in order], rounds=rounds)
            for i, latency in zip(order, timed, strict=True):
                figures["{}/{}".format(*keys[i])].append(latency.ms)
    return {"figures": figures, "skipped": skipped, "cpus": cpus}


def runtime_table(result: dict, front: list[int]) -> tuple[str, dict]:
    """Markdown table (median p10 over repeats, spread) and the per-runtime summary."""
    figures = result["figures"]
    lines = [
        "| model | torch ms | TorchScript ms | ONNX Runtime ms | ORT / torch | spread |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ratios: dict[str, list[float]] = {r: [] for r in RUNTIMES}
    for name in [*front, "reference"]:
        cells, spreads = [], []
        for runtime in RUNTIMES:
            values = figures.get(f"{name}/{runtime}")
            if not values:
                cells.append("skipped")
                continue
            cells.append(f"{np.median(values):.4f}")
            spreads.append(max(values) / min(values) - 1)
            torch_values = figures.get(f"{name}/torch")
            if torch_values:
                ratios[runtime].append(float(np.median(values) / np.median(torch_values)))
        torch_ms, ort = figures.get(f"{name}/torch"), figures.get(f"{name}/onnxruntime")
        ratio = f"{np.median(ort) / np.median(torch_ms):.2f}" if torch_ms and ort else "n/a"
        spread = f"{100 * max(spreads):.1f}%" if spreads else "n/a"
        lines.append(f"| {name} | {' | '.join(cells)} | {ratio} | {spread} |")
    summary = {r: round(float(np.median(v)), 3) for r, v in ratios.items() if v}
    return "\n".join(lines), summary


def neighbour_runs(results: Path, rounds: int) -> dict:
    """Three `paretonas profile` runs of the snapshot against one baseline: quiet, then a
    busy loop on the last CPU, then on the first; ms differences against the quiet run."""
    snapshot = results / "search" / "snapshot"
    cpus = sorted(os.sched_getaffinity(0))
    runs = {}
    with tempfile.TemporaryDirectory(prefix="neighbour-") as tmp:
        baseline = Path(tmp) / "baseline.json"
        for label, cpu in (("quiet", None), ("last", cpus[-1]), ("first", cpus[0])):
            busy = None if cpu is None else start_busy_loop(cpu)
            try:
                out = Path(tmp) / label
                command = [sys.executable, "-m", "paretonas", "profile", "--study",
                           str(snapshot / "study.db"), "--trials", str(snapshot / "trials"),
                           "--out", str(out), "--rounds", str(rounds),
                           "--baseline", str(baseline)]  # fmt: skip
                subprocess.run(command, check=True, capture_output=True, text=True)
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
            rows = list(csv.DictReader((out / "latency.csv").open()))
            record = json.loads((out / "profile.json").read_text())
            runs[label] = {
                "neighbour_cpu": cpu,
                "pinned_cpu": record["pinned_cpu"],
                "slowdown": record["slowdown"],
                "latency_ms": {r["trial"]: float(r["latency_ms"]) for r in rows},
                "measured_ms": {r["trial"]: float(r["measured_ms"]) for r in rows},
            }
    quiet = runs["quiet"]["latency_ms"]
    for label in ("last", "first"):
        for figure in ("latency_ms", "measured_ms"):
            diffs = [abs(runs[label][figure][t] / quiet[t] - 1) for t in quiet]
            runs[label][f"{figure}_median_diff"] = round(float(np.median(diffs)), 4)
            runs[label][f"{figure}_max_diff"] = round(float(np.max(diffs)), 4)
    return runs


def start_busy_loop(cpu: int) -> subprocess.Popen:
    """A CPU-bound Python process pinned to ``cpu`` (the caller ends it)."""
    code = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True:\n    pass\n"
    process = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(0.5)  # pinned and spinning before the profile starts
    return process


def neighbour_table(runs: dict) -> str:
    lines = [
        "| neighbour on CPU | profile pinned to | slowdown vs baseline | median diff ms "
        "(scaled / measured) | largest diff (scaled / measured) |",
        "|---|---:|---:|---:|---:|",
    ]
    for label in ("last", "first"):
        run = runs[label]
        lines.append(
            f"| {run['neighbour_cpu']} | {run['pinned_cpu']} | {run['slowdown']} | "
            f"{100 * run['latency_ms_median_diff']:.1f}% / "
            f"{100 * run['measured_ms_median_diff']:.1f}% | "
            f"{100 * run['latency_ms_max_diff']:.1f}% / {100 * run['measured_ms_max_diff']:.1f}% |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--neighbour", action="store_true", help="also the neighbour runs")
    parser.add_argument("--write-results", type=Path, metavar="RESULTS_MD")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = list(csv.DictReader((args.results / "profile" / "latency.csv").open()))
    front = sorted(int(r["trial"]) for r in rows if r["layer"] == "0")
    trials = args.results / "search" / "snapshot" / "trials"
    result = time_runtimes(trials, front, args.repeats, args.rounds)
    table, summary = runtime_table(result, front)
    report = {"machine": machine(), "front": front, **result, "median_ratio_to_torch": summary}
    text = [table, "", f"median ratio to eager torch over the front: {summary}"]
    if result["skipped"]:
        text.append(f"skipped: {result['skipped']}")
    if args.neighbour:
        report["neighbour"] = neighbour_runs(args.results, args.rounds)
        text += ["", neighbour_table(report["neighbour"])]
    print("\n".join(text))
    write_json(args.json, report)
    if args.write_results:
        write_section(args.write_results, report, "\n".join(text), argv)
    return 0


def write_section(path: Path, report: dict, body: str, argv: list[str] | None) -> None:
    """Insert a dated section (machine, command, tables) after RESULTS.md's title."""
    m = report["machine"]
    command = shlex.join(["python", "-m", "benchmarks.runtime_latency", *(argv or sys.argv[1:])])
    section = (
        f"## {m['date'][:10]}, the front in eager torch, TorchScript and ONNX Runtime (issue "
        f"[4/4])\n\nMachine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, "
        f"{m['date']}. Command: `{command}`. p10 of interleaved rounds (one thread, pinned "
        f"to CPUs {report['cpus']}), median of {len(report['cpus'])} repeats in shuffled "
        f"order; spread: largest max/min - 1 over the repeats.\n\n{body}\n\n"
    )
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n## ")
    new = f"{head.rstrip()}\n\n{section}## {rest}" if rest else f"{text.rstrip()}\n\n{section}"
    atomic_write_text(path, new)


if __name__ == "__main__":
    raise SystemExit(main())
