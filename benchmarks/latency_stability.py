"""How well profiled latency reproduces: time the same models several times (as the profile
step does: interleaved rounds, one thread, pinned to the CPU a probe finds fastest) and
print, for each figure (min, p5, p10 = the profile's, median), the median difference between
repeats, in milliseconds and relative to the reference network timed in the same rounds.

Usage (on a finished run)::

    .venv/bin/python -m benchmarks.latency_stability --pareto results/select/pareto.csv \\
        --trials results/search/snapshot/trials [--repeats 4] [--rounds 150] [--json FILE]
"""

from __future__ import annotations

import argparse
import csv
import itertools
from pathlib import Path

import numpy as np

from benchmarks.common import machine, write_json

FIGURES = {"min": "min_ms", "p5": "low_ms", "p10": "ms", "median": "high_ms"}


def main(argv: list[str] | None = None) -> int:
    import torch

    from paretonas.host_speed import pinned_to_fastest_cpu
    from paretonas.models import ModelSpec, build_model, measure_latencies
    from paretonas.profile import REFERENCE
    from paretonas.runtimes import eager_call

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pareto", type=Path, required=True, help="select's pareto.csv")
    parser.add_argument("--trials", type=Path, required=True, help="the snapshot's trials/")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = list(csv.DictReader(args.pareto.open()))
    front = sorted({int(r["trial"]) for r in rows if r["front"] == "0"})
    models = [build_model(ModelSpec.from_yaml(args.trials / str(t) / "model.yaml")) for t in front]
    models.append(build_model(ModelSpec.from_dict(REFERENCE, source="REFERENCE")))
    torch.set_num_threads(1)
    with pinned_to_fastest_cpu(eager_call(models[-1], models[-1].input_shape)) as (cpu, _):
        repeats = [
            measure_latencies(models, [m.input_shape for m in models], rounds=args.rounds)
            for _ in range(args.repeats)
        ]
    result = {"machine": machine(), "models": len(front), "rounds": args.rounds, "figures": {}}
    print(f"{len(front)} front models, {args.repeats} repeats of {args.rounds} rounds, CPU {cpu}")
    for name, field in FIGURES.items():
        raw = [np.array([getattr(x, field) for x in rep[:-1]]) for rep in repeats]
        rel = [r / getattr(rep[-1], field) for r, rep in zip(raw, repeats, strict=True)]
        row = {}
        for label, values in (("ms", raw), ("relative", rel)):
            pairs = list(itertools.combinations(values, 2))
            medians = [float(np.median(np.abs(b / a - 1))) for a, b in pairs]
            worst = [float(np.max(np.abs(b / a - 1))) for a, b in pairs]
            row[label] = {"median": max(medians), "worst_model": max(worst)}
        result["figures"][name] = row
        ms, rel = row["ms"], row["relative"]
        print(
            f"{name:7s} ms: {100 * ms['median']:5.2f}% (worst {100 * ms['worst_model']:5.2f}%)"
            f"   relative: {100 * rel['median']:5.2f}% (worst {100 * rel['worst_model']:5.2f}%)"
        )
    print("(the largest median difference over pairs of repeats, across the front's models)")
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
