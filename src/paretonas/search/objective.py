"""One trial: sample, deduplicate, build, pre-filter on costs, train with pruning, score,
archive. Anything that goes wrong ends this trial FAIL with its reason; the worker goes on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.trial import TrialState

from paretonas.errors import ParetonasError
from paretonas.hardware import fingerprint
from paretonas.models import build_model, count_macs, count_params, measure_latency
from paretonas.search import archive
from paretonas.search.pruning import (
    COSTS_ATTR,
    CURVE_ATTR,
    PruningRule,
    finished_trials,
    prune_reason,
)
from paretonas.search.space import DataShape, SearchSpace
from paretonas.train import Augment, HParams, Split, TrainingDiverged, fit

_logger = logging.getLogger(__name__)

COST_OBJECTIVES = ("params", "macs", "latency_ms", "model_bytes")
CONFIG_HASH_ATTR = "config_hash"
# Values an infeasible (never trained) trial reports: the worst of each score.
_UNTRAINED = {"f1": 0.0, "accuracy": 0.0, "loss": 1e9}


@dataclass
class SearchData:
    """The search subsample and what training needs to read it."""

    train: Split
    val: Split
    mean: list[float]
    std: list[float]
    augment: Augment
    shape: DataShape


@dataclass
class TrialContext:
    """Everything a trial needs besides the trial itself (one per worker)."""

    space: SearchSpace
    data: SearchData
    study_dir: Path
    objectives: list[tuple[str, str]]
    constraints: dict[str, float | None]
    seed: int
    worker_id: int
    pruning: PruningRule | None
    latency_runs: int = 20
    device: str = "auto"
    stats: dict[str, int] = field(default_factory=dict)


def trial_seed(seed: int, number: int) -> int:
    """Training seed of trial ``number``: the same wherever (whichever worker) it runs."""
    digest = hashlib.sha256(f"{seed}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def config_hash(spec_yaml: str, hparams: dict[str, Any]) -> str:
    text = spec_yaml + json.dumps(hparams, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def objective(trial: optuna.Trial, ctx: TrialContext) -> list[float]:
    """Optuna objective; raises optuna.TrialPruned or an exception (-> FAIL) as needed."""
    started = time.perf_counter()
    directory = archive.trial_dir(ctx.study_dir, trial.number)
    trial.set_user_attr("archive", str(directory))
    trial.set_user_attr("worker", ctx.worker_id)
    seed = trial_seed(ctx.seed, trial.number)
    record: dict[str, Any] = {"number": trial.number, "seed": seed, "worker": ctx.worker_id,
                              "hardware": fingerprint()}  # fmt: skip
    try:
        values = _run(trial, ctx, directory, seed, record)
    except optuna.TrialPruned as pruned:
        _finish(directory, record, "pruned", started, reason=str(pruned))
        raise
    except KeyboardInterrupt:  # SIGTERM or Ctrl-C: record it, let the worker stop
        trial.set_user_attr("fail_reason", "terminated")
        _finish(directory, record, "fail", started, reason="terminated")
        raise
    except Exception as exc:  # isolate: this trial fails, the worker and study go on
        reason = f"{type(exc).__name__}: {exc}"
        trial.set_user_attr("fail_reason", reason[:2000])
        _finish(directory, record, "fail", started, reason=reason)
        raise
    _finish(directory, record, record.get("state", "complete"), started)
    return values


def _run(trial: optuna.Trial, ctx: TrialContext, directory: Path, seed: int,
         record: dict) -> list[float]:  # fmt: skip
    sample = ctx.space.sample(trial, ctx.data.shape)
    hparams = HParams.from_dict(sample.hparams, f"trial {trial.number} hparams")
    spec_yaml = sample.spec.to_yaml()
    key = config_hash(spec_yaml, sample.hparams)
    trial.set_user_attr(CONFIG_HASH_ATTR, key)
    trial.set_user_attr("spec", spec_yaml)
    archive.write_config(directory, sample.spec, sample.hparams)
    record.update(hparams=sample.hparams, config_hash=key)

    reused = _reuse(trial, key)
    if reused is not None:
        record.update(state="complete", reused_from=reused["number"], objectives=reused["values"])
        return reused["values_list"]

    torch.manual_seed(seed)  # the same trial number builds the same initial weights
    try:
        model = build_model(sample.spec)
    except ParetonasError as exc:
        raise RuntimeError(f"spec does not build: {exc}") from None
    costs = _costs(model, ctx.latency_runs)
    trial.set_user_attr(COSTS_ATTR, costs)
    record["costs"] = costs
    if _infeasible(trial, ctx, costs, record):
        values = {**_UNTRAINED, **costs}
        record.update(state="infeasible", objectives=values)
        trial.set_user_attr("state", "infeasible")
        return [values[name] for name, _ in ctx.objectives]

    curve: list[float] = []

    def on_epoch(epoch_record: Any) -> str | None:
        curve.append(float(epoch_record.val_f1))
        trial.set_user_attr(CURVE_ATTR, curve)
        if ctx.pruning is None:
            return None
        if len(ctx.objectives) == 1:  # single objective: Optuna's own pruner decides
            return _optuna_pruner_says(trial, ctx.objectives[0][0], epoch_record)
        cost_keys = {n: costs[n] for n, d in ctx.objectives if n in COST_OBJECTIVES}
        others = finished_trials(trial.study, exclude=trial.number)
        return prune_reason(ctx.pruning, epoch_record.epoch, curve[-1], cost_keys, others)

    try:
        result = fit(model, ctx.data.train, ctx.data.val, hparams, mean=ctx.data.mean,
                     std=ctx.data.std, augment=ctx.data.augment, seed=seed, device=ctx.device,
                     on_epoch=on_epoch)  # fmt: skip
    except TrainingDiverged as exc:
        raise RuntimeError(f"training diverged: {exc}") from None
    record["curve"] = [epoch.to_dict() for epoch in result.history]
    if result.stopped:
        trial.set_user_attr("prune_reason", result.stop_reason)
        raise optuna.TrialPruned(result.stop_reason)

    best = result.history[result.best_epoch - 1]
    scores = {"f1": best.val_f1, "accuracy": best.val_accuracy, "loss": best.val_loss}
    values = {**scores, **costs}
    if any(not math.isfinite(values[name]) for name, _ in ctx.objectives):
        raise RuntimeError(f"non-finite objective values: {values}")
    archive.write_weights(directory, sample.spec, sample.hparams, result.best_state,
                          {"best_epoch": result.best_epoch, "val_f1": best.val_f1})  # fmt: skip
    record.update(state="complete", objectives=values, best_epoch=result.best_epoch,
                  samples_per_second=result.samples_per_second)  # fmt: skip
    return [values[name] for name, _ in ctx.objectives]


_SCORE_OF_EPOCH = {"f1": "val_f1", "accuracy": "val_accuracy", "loss": "val_loss"}


def _optuna_pruner_says(trial: optuna.Trial, objective_name: str, epoch: Any) -> str | None:
    """Report the objective's per-epoch value; None unless the study's pruner prunes."""
    if objective_name not in _SCORE_OF_EPOCH:  # a cost objective: nothing changes per epoch
        return None
    trial.report(float(getattr(epoch, _SCORE_OF_EPOCH[objective_name])), epoch.epoch)
    if trial.should_prune():
        pruner = type(trial.study.pruner).__name__
        return f"{pruner} pruned at epoch {epoch.epoch}"
    return None


def _costs(model: torch.nn.Module, latency_runs: int) -> dict[str, float]:
    """Zero-cost objectives, measured before any training."""
    params = count_params(model)
    latency = measure_latency(model, model.input_shape, runs=latency_runs)
    return {
        "params": params,
        "macs": count_macs(model, model.input_shape),
        "latency_ms": round(latency.median_ms, 5),
        "model_bytes": sum(p.numel() * p.element_size() for p in model.parameters())
        + sum(b.numel() * b.element_size() for b in model.buffers()),
    }


def _infeasible(trial: optuna.Trial, ctx: TrialContext, costs: dict, record: dict) -> bool:
    """Set every constraint (value - limit; > 0 is infeasible); True if any is broken."""
    broken = []
    for key, limit in ctx.constraints.items():
        if limit is None:
            continue
        name = key.removesuffix("_max")
        excess = float(costs[name]) - float(limit)
        trial.set_constraint(name, excess)
        if excess > 0:
            broken.append(f"{name} {costs[name]} > {limit}")
    if broken:
        record["reason"] = "infeasible: " + "; ".join(broken)
        trial.set_user_attr("infeasible", record["reason"])
    return bool(broken)


def _reuse(trial: optuna.Trial, key: str) -> dict[str, Any] | None:
    """A finished trial with the same spec and hyperparameters: reuse its values."""
    for other in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if other.number != trial.number and other.user_attrs.get(CONFIG_HASH_ATTR) == key:
            source = other.user_attrs.get("reused_from", other.number)
            trial.set_user_attr("reused_from", source)
            for attr in (COSTS_ATTR, "infeasible"):
                if attr in other.user_attrs:
                    trial.set_user_attr(attr, other.user_attrs[attr])
            for name, value in other.system_attrs.items():
                if name.startswith("constraints:"):
                    trial.set_constraint(name.split(":", 1)[1], value)
            _logger.info("trial %d: same configuration as trial %d, values reused",
                         trial.number, source)  # fmt: skip
            return {"number": source, "values": dict(enumerate(other.values)),
                    "values_list": list(other.values)}  # fmt: skip
    return None


def _finish(directory: Path, record: dict, state: str, started: float, reason: str | None = None):
    record["state"] = state
    if reason:
        record["reason"] = reason
    record["seconds"] = round(time.perf_counter() - started, 3)
    record["torch"] = torch.__version__
    archive.write_metrics(directory, record)
