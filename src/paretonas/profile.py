"""The profile step: time the front's candidates on a machine they have to themselves.

During the search, latency is ``estimate_latency_ms`` (deterministic, so a search replays;
training neighbours would make any measurement there noise). Here, after the search and
before select, the candidates that could make the front are built from their archived
``model.yaml`` and timed together in the runtime they will be deployed in
(``profile.runtime``: eager torch, TorchScript or ONNX Runtime, through the export finalize
ships) by ``time_calls`` (interleaved rounds, 10th percentile, batch 1, one thread, pinned to
the CPU a short probe finds fastest; each model at its own input size: the ``input_shape``
column), in a Snakemake job that takes every core so that no other job runs beside it. A
reference network is timed in the same rounds; against the host's recorded baseline
(``paretonas.host_speed``) it measures a slowdown common to all models, which the figures
are scaled back from. Select, the tables and the report use these figures; ``profile.json``
says how they were measured, in which runtime, where, and how well the search's estimate
ranked them. ``paretonas.finalist_latency`` times the finalists' shipped files the same way.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paretonas import __version__, pareto
from paretonas.errors import ConfigError
from paretonas.runtimes import RUNTIMES
from paretonas.search import attrs
from paretonas.search.study import objectives_of, open_study
from paretonas.yamlio import atomic_write_text

if TYPE_CHECKING:  # torch and the runtimes load only in the step that times
    from paretonas.models.costs import Latency
    from paretonas.runtimes import Call

_logger = logging.getLogger(__name__)

MIN_SECONDS = 10.0  # of interleaved rounds at least, however few the models
STEADY = 1.10  # median p10 / min of a steady profile (steadiness)
SLOWDOWN = 1.10  # reference / machine baseline above which the profile warns

COLUMNS = (
    "trial",
    "layer",
    "latency_ms",
    "measured_ms",
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
    runtime: str = "torch",
    baseline: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Time the candidates of whole non-dominated layers (under every objective, latency as
    the search's estimate) until ``max_models`` are in, in ``runtime`` (``RUNTIMES``); write
    ``latency_csv`` (a row per model) and ``profile_json`` (how, where, how fast the host ran
    against ``baseline``, the machine baseline file, and the estimate's rank correlation). A
    model the runtime cannot run (its export skipped or failed) gets no row; profile.json
    lists it with the reason."""
    from paretonas.models import ModelSpec, build_model
    from paretonas.runtimes import model_call

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
    models = [
        build_model(ModelSpec.from_yaml(Path(trials_dir) / str(t.number) / "model.yaml"))
        for _, t in chosen
    ]
    entries = [
        (str(trial.number), functools.partial(model_call, model, model.input_shape, runtime))
        for (_, trial), model in zip(chosen, models, strict=True)
    ]
    timed, record = time_in_runtime(entries, runtime, rounds, baseline)
    rows = []
    for (layer, trial), model in zip(chosen, models, strict=True):
        latency = timed.get(str(trial.number))
        if latency is None:
            continue
        rows.append(
            {
                "trial": trial.number,
                "layer": layer,
                "latency_ms": round(latency.ms * record["scale"], 5),
                "measured_ms": latency.ms,
                "low_ms": latency.low_ms,
                "high_ms": latency.high_ms,
                "min_ms": latency.min_ms,
                "estimate_ms": (attrs.get(trial, attrs.COSTS) or {}).get("latency_ms"),
                "relative": round(latency.ms / record["reference_measured_ms"], 5),
                "input_shape": "x".join(map(str, model.input_shape)),
            }
        )
    write_rows(latency_csv, rows, COLUMNS)
    record = {
        "study": study.study_name,
        "models": len(rows),
        "candidates": len(trials),
        "layers": sorted({row["layer"] for row in rows}),
        **record,
        "estimate_rank_correlation": _spearman(rows),
        "seconds": round(time.perf_counter() - started, 3),
        "paretonas_version": __version__,
    }
    atomic_write_text(profile_json, json.dumps(record, indent=2) + "\n")
    warn_if_busy(record)
    _logger.info(
        "profiled %d of %d candidates (layers %s) in %s in %.1fs on CPU %s; estimate vs "
        "profiled Spearman %s",
        len(rows),
        len(trials),
        record["layers"],
        runtime,
        record["seconds"],
        record["pinned_cpu"],
        record["estimate_rank_correlation"],
    )
    return record


def time_in_runtime(
    entries: list[tuple[str, Callable[[Path], Call]]],
    runtime: str,
    rounds: int,
    baseline: str | os.PathLike | None,
) -> tuple[dict[str, Latency], dict[str, Any]]:
    """Time ``entries`` (name, factory of a batch-1 call given a scratch directory) and the
    reference network in ``runtime``, interleaved, pinned to the CPU ``choose_cpu`` picks,
    against the machine ``baseline``. Returns name -> Latency (an entry the runtime cannot
    run is left out, and listed under ``skipped`` with its reason) and the record
    profile.json keeps: method, pinning, reference and baseline, steadiness, hardware."""
    import torch

    from paretonas.hardware import fingerprint
    from paretonas.host_speed import (
        compare_to_baseline,
        host_key,
        pinned_to_fastest_cpu,
        read_baselines,
    )
    from paretonas.models import ModelSpec, build_model
    from paretonas.models.costs import time_calls
    from paretonas.runtimes import RuntimeSkipped, library_version, model_call

    if runtime not in RUNTIMES:
        raise ConfigError(f"profile.runtime: unknown runtime {runtime!r}; known: {RUNTIMES}")
    if baseline is not None:
        read_baselines(baseline)  # a damaged file stops the step before the timing, not after
    torch.set_num_threads(1)
    reference_model = build_model(ModelSpec.from_dict(REFERENCE, source="profile.REFERENCE"))
    names, calls, skipped = [], [], []
    with tempfile.TemporaryDirectory(prefix="paretonas-profile-") as workdir:
        try:
            reference = model_call(
                reference_model, reference_model.input_shape, runtime, Path(workdir)
            )
        except RuntimeSkipped as exc:
            raise ConfigError(f"profile.runtime: {runtime} cannot run here: {exc}") from None
        for name, factory in entries:
            try:
                calls.append(factory(Path(workdir)))
                names.append(name)
            except RuntimeSkipped as exc:
                _logger.warning("%s: not profiled in %s: %s", name, runtime, exc)
                skipped.append({"model": name, "reason": str(exc)})
        with pinned_to_fastest_cpu(reference) as (cpu, probe):
            *latencies, reference_latency = time_calls(
                [*calls, reference], rounds=rounds, min_seconds=MIN_SECONDS
            )
    speed = compare_to_baseline(
        baseline, host_key(runtime, library_version(runtime)), reference_latency.ms
    )
    record = {
        "runtime": runtime,
        "runtime_version": library_version(runtime),
        "method": reference_latency.method,
        "figure": "latency_ms: measured_ms (10th percentile of the rounds) x scale, the "
        "host's baseline speed over this run's (reference_ms / baseline_ms); low_ms/high_ms: "
        "5th and 50th percentiles, measured",
        "reference_ms": round(reference_latency.ms * speed["scale"], 5),
        "reference_measured_ms": reference_latency.ms,
        "relative": "measured_ms / reference_measured_ms, the reference network (REFERENCE) "
        "timed in the same rounds",
        "pinned_cpu": cpu,
        "cpu_probe_ms": {str(k): v for k, v in probe.items()},
        "cpu_choice": "the CPU where the reference network's median ~10 ms round was fastest",
        **speed,
        "skipped": skipped,
        "hardware": fingerprint(),
        **steadiness([*latencies, reference_latency]),
    }
    return dict(zip(names, latencies, strict=True)), record


def warn_if_busy(record: dict[str, Any]) -> None:
    """A warning when the rounds were unsteady or the host ran slower than its baseline."""
    if not record["steady"]:
        _logger.warning(
            "the host was busy while profiling (median p10/min %.2f > %.2f): these latency "
            "figures may not reproduce within 5%%; their order is still the order select uses. "
            "To re-measure on a quiet machine: snakemake --cores 4 --forcerun profile",
            record["p10_over_min"],
            STEADY,
        )
    if (record.get("slowdown") or 1.0) > SLOWDOWN:
        _logger.warning(
            "the host ran %.2fx slower than its recorded baseline (reference network %.4f ms, "
            "baseline %.4f ms recorded %s): every figure was scaled by %.3f to the baseline "
            "speed; measured_ms keeps what was measured",
            record["slowdown"],
            record["reference_measured_ms"],
            record["baseline_ms"],
            record["baseline_recorded"],
            record["scale"],
        )


def write_rows(path: str | os.PathLike, rows: list[dict[str, Any]], columns: tuple) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def read_profile(latency_csv: str | os.PathLike) -> dict[int, float]:
    """Trial number -> profiled latency (ms) from ``latency_csv``."""
    with open(latency_csv, encoding="utf-8", newline="") as handle:
        return {int(row["trial"]): float(row["latency_ms"]) for row in csv.DictReader(handle)}


def _spearman(rows: list[dict[str, Any]]) -> float | None:
    """Rank correlation of the search's estimates with the profiled figures."""
    pairs = [(r["estimate_ms"], r["latency_ms"]) for r in rows if r["estimate_ms"] is not None]
    if len(pairs) < 3:
        return None
    from scipy.stats import spearmanr

    estimate, measured = zip(*pairs, strict=True)
    rho = spearmanr(estimate, measured).statistic
    return None if np.isnan(rho) else round(float(rho), 4)
