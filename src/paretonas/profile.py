"""The profile step: time the front's candidates on a machine they have to themselves.

During the search, latency is ``estimate_latency_ms`` (deterministic, so a search replays;
training neighbours would make any measurement there noise). Here, after the search and
before select, the candidates that could make the front are built from their archived
``model.yaml`` and timed together by ``measure_latencies`` (interleaved rounds, 10th
percentile, batch 1, one torch thread, the process pinned to one CPU; each model at its own
input size, a searched ``img_size``: the ``input_shape`` column), in a Snakemake job that
takes every core so that no other job runs beside it. Select, the tables and the report use
these figures; ``profile.json`` says how they were measured, where, and how well the
search's estimate ranked them.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from paretonas import __version__, pareto
from paretonas.search import attrs
from paretonas.search.study import objectives_of, open_study
from paretonas.yamlio import atomic_write_text

_logger = logging.getLogger(__name__)

MIN_SECONDS = 10.0  # of interleaved rounds at least, however few the models
STEADY = 1.10  # median p10 / min of a steady profile (steadiness)

COLUMNS = (
    "trial",
    "layer",
    "latency_ms",
    "low_ms",
    "high_ms",
    "min_ms",
    "estimate_ms",
    "relative",
    "input_shape",
)
# Timed in the same rounds as the candidates: on a quiet host the machine's speed drifts by a
# few percent between runs, all models together, and ``relative`` (latency / this network's)
# cancels that (1.4% vs 2.8% median, benchmarks/RESULTS.md); it does not cancel the uneven
# slowdown other tenants' load causes.
REFERENCE = {
    "input_channel": 3,
    "depth_multiple": 1.0,
    "width_multiple": 1.0,
    "input_size": [32, 32],
    "backbone": [
        [1, "Conv", [16, 3, 1]],
        [1, "Conv", [32, 3, 2]],
        [1, "GlobalAvgPool", []],
        [1, "Flatten", []],
        [1, "Linear", [10]],
    ],
}


def steadiness(latencies: list[Any]) -> dict[str, Any]:
    """Whether the host held still while timing: the median over models of p10 / min.

    On these shared VMs a quiet host puts the 10th percentile within a few percent of the
    fastest round (1.03-1.05 in runs that reproduced within 5%: benchmarks/RESULTS.md);
    when other tenants load it, most rounds run slow and p10 drifts up from the minimum
    (1.43 in a run 47% off the same models' earlier figures)."""
    ratio = float(np.median([x.ms / x.min_ms for x in latencies if x.min_ms > 0] or [1.0]))
    return {"p10_over_min": round(ratio, 4), "steady": ratio <= STEADY}


def profile_front(
    study: str | os.PathLike,
    trials_dir: str | os.PathLike,
    latency_csv: str | os.PathLike,
    profile_json: str | os.PathLike,
    *,
    max_models: int = 40,
    rounds: int = 150,
) -> dict[str, Any]:
    """Time the candidates of whole non-dominated layers (under every objective, latency as
    the search's estimate) until ``max_models`` are in; write ``latency_csv`` (a row per
    model) and ``profile_json`` (how, where, and the estimate's rank correlation)."""
    from paretonas.hardware import fingerprint
    from paretonas.models import ModelSpec, build_model, measure_latencies

    started = time.perf_counter()
    study = open_study(study)
    objectives = objectives_of(study)
    trials = attrs.study_candidates(study)
    chosen: list[tuple[int, Any]] = []  # (layer, trial)
    if trials:
        values = np.array([t.values for t in trials], dtype=float)
        for layer, members in enumerate(
            pareto.nondominated_layers(pareto.losses(values, objectives))
        ):
            if len(chosen) >= max_models:
                break
            chosen += [(layer, trials[i]) for i in sorted(members, key=lambda i: trials[i].number)]
    cpu = _pin_to_one_cpu()
    archives = [Path(trials_dir) / str(t.number) / "model.yaml" for _, t in chosen]
    models = [build_model(ModelSpec.from_yaml(path)) for path in archives]
    models.append(build_model(ModelSpec.from_dict(REFERENCE, source="profile.REFERENCE")))
    *latencies, reference = measure_latencies(
        models, [m.input_shape for m in models], rounds=rounds, min_seconds=MIN_SECONDS
    )
    rows = []
    for (layer, trial), latency, model in zip(chosen, latencies, models[:-1], strict=True):
        rows.append(
            {
                "trial": trial.number,
                "layer": layer,
                "latency_ms": latency.ms,
                "low_ms": latency.low_ms,
                "high_ms": latency.high_ms,
                "min_ms": latency.min_ms,
                "estimate_ms": (attrs.get(trial, attrs.COSTS) or {}).get("latency_ms"),
                "relative": round(latency.ms / reference.ms, 5),
                "input_shape": "x".join(map(str, model.input_shape)),
            }
        )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(latency_csv, buffer.getvalue())
    record = {
        "study": study.study_name,
        "models": len(rows),
        "candidates": len(trials),
        "layers": sorted({row["layer"] for row in rows}),
        "method": reference.method,
        "figure": "latency_ms: 10th percentile of the rounds; low_ms/high_ms: 5th and 50th",
        "reference_ms": reference.ms,
        "relative": "latency_ms / reference_ms, the reference network (REFERENCE) timed in "
        "the same rounds: it cancels the machine's drift between runs",
        "pinned_cpu": cpu,
        "hardware": fingerprint(),
        "estimate_rank_correlation": _spearman(rows),
        **steadiness([*latencies, reference]),
        "seconds": round(time.perf_counter() - started, 3),
        "paretonas_version": __version__,
    }
    atomic_write_text(profile_json, json.dumps(record, indent=2) + "\n")
    if not record["steady"]:
        _logger.warning(
            "the host was busy while profiling (median p10/min %.2f > %.2f): these latency "
            "figures may not reproduce within 5%%; their order is still the order select uses. "
            "To re-measure on a quiet machine: snakemake --cores 4 --forcerun profile",
            record["p10_over_min"],
            STEADY,
        )
    _logger.info(
        "profiled %d of %d candidates (layers %s) in %.1fs on CPU %s; estimate vs profiled "
        "Spearman %s",
        len(rows),
        len(trials),
        record["layers"],
        record["seconds"],
        cpu,
        record["estimate_rank_correlation"],
    )
    return record


def read_profile(latency_csv: str | os.PathLike) -> dict[int, float]:
    """Trial number -> profiled latency (ms) from ``latency_csv``."""
    with open(latency_csv, encoding="utf-8", newline="") as handle:
        return {int(row["trial"]): float(row["latency_ms"]) for row in csv.DictReader(handle)}


def _pin_to_one_cpu() -> int | None:
    """Pin this process (and torch's one thread) to the last CPU it may use: no migration
    between cores mid-measurement. None where the OS has no affinity call."""
    import torch

    torch.set_num_threads(1)
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def _spearman(rows: list[dict[str, Any]]) -> float | None:
    """Rank correlation of the search's estimates with the profiled figures."""
    pairs = [(r["estimate_ms"], r["latency_ms"]) for r in rows if r["estimate_ms"] is not None]
    if len(pairs) < 3:
        return None
    from scipy.stats import spearmanr

    estimate, measured = zip(*pairs, strict=True)
    rho = spearmanr(estimate, measured).statistic
    return None if np.isnan(rho) else round(float(rho), 4)
