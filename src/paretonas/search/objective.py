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
from paretonas.models import build_model, count_params, estimate_latency_ms, forward_counts
from paretonas.objectives import SCORES, Objective
from paretonas.search import archive, attrs
from paretonas.search.pruning import PruningRule, finished_trials, prune_reason
from paretonas.search.space import DataShape, SearchSpace
from paretonas.training import Augment, HParams, Split, TrainingDiverged, f1_noise, fit

_logger = logging.getLogger(__name__)


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
    objectives: list[Objective]
    constraints: dict[str, float | None]
    seed: int
    worker_id: int
    pruning: PruningRule | None
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
    trial.set_user_attr(attrs.ARCHIVE, str(directory))
    trial.set_user_attr(attrs.WORKER, ctx.worker_id)
    seed = trial_seed(ctx.seed, trial.number)
    record: dict[str, Any] = {
        "number": trial.number,
        "seed": seed,
        "worker": ctx.worker_id,
        "hardware": fingerprint(),
    }
    try:
        values = _run(trial, ctx, directory, seed, record)
    except optuna.TrialPruned as pruned:
        _finish(directory, record, "pruned", started, reason=str(pruned))
        raise
    except KeyboardInterrupt:  # SIGTERM or Ctrl-C: record it, let the worker stop
        trial.set_user_attr(attrs.FAIL_REASON, "terminated")
        _finish(directory, record, "fail", started, reason="terminated")
        raise
    except Exception as exc:  # isolate: this trial fails, the worker and study go on
        reason = f"{type(exc).__name__}: {exc}"
        trial.set_user_attr(attrs.FAIL_REASON, reason[:2000])
        _finish(directory, record, "fail", started, reason=reason)
        raise
    _finish(directory, record, record.get("state", "complete"), started)
    return values


def _run(
    trial: optuna.Trial, ctx: TrialContext, directory: Path, seed: int, record: dict
) -> list[float]:
    sample = ctx.space.sample(trial, ctx.data.shape)
    hparams = HParams.from_dict(sample.hparams, f"trial {trial.number} hparams")
    spec_yaml = sample.spec.to_yaml()
    key = config_hash(spec_yaml, sample.hparams)
    trial.set_user_attr(attrs.CONFIG_HASH, key)
    trial.set_user_attr(attrs.SPEC, spec_yaml)
    archive.write_config(directory, sample.spec, sample.hparams)
    record.update(hparams=sample.hparams, config_hash=key)

    reused = _reuse(trial, key, ctx.objectives)
    if reused is not None:
        record.update(reused)
        return [reused["objectives"][o.name] for o in ctx.objectives]

    torch.manual_seed(seed)  # the same trial number builds the same initial weights
    try:
        model = build_model(sample.spec)
    except ParetonasError as exc:
        raise RuntimeError(f"spec does not build: {exc}") from None
    costs = _costs(model)
    trial.set_user_attr(attrs.COSTS, costs)
    record["costs"] = costs
    record["latency"] = "costs.latency_ms is the search's estimate (estimate_latency_ms)"
    if _infeasible(trial, ctx, costs, record):
        values = {**{o.name: o.untrained for o in ctx.objectives if o.score}, **costs}
        record.update(state="infeasible", objectives=_named(values, ctx.objectives))
        return [values[o.name] for o in ctx.objectives]

    curve: list[float] = []

    def on_epoch(epoch_record: Any) -> str | None:
        curve.append(float(epoch_record.val_f1))
        trial.set_user_attr(attrs.CURVE, curve)
        if ctx.pruning is None:
            return None
        if len(ctx.objectives) == 1:  # single objective: Optuna's own pruner decides
            return _optuna_pruner_says(trial, ctx.objectives[0], epoch_record)
        cost_keys = {o.name: costs[o.name] for o in ctx.objectives if o.cost}
        others = finished_trials(trial.study, exclude=trial.number)
        return prune_reason(ctx.pruning, epoch_record.epoch, curve[-1], cost_keys, others)

    try:
        result = fit(
            model,
            ctx.data.train,
            ctx.data.val,
            hparams,
            mean=ctx.data.mean,
            std=ctx.data.std,
            augment=ctx.data.augment,
            seed=seed,
            device=ctx.device,
            on_epoch=on_epoch,
        )
    except TrainingDiverged as exc:
        raise RuntimeError(f"training diverged: {exc}") from None
    record["curve"] = [epoch.to_dict() for epoch in result.history]
    if result.stopped:
        trial.set_user_attr(attrs.PRUNE_REASON, result.stop_reason)
        raise optuna.TrialPruned(result.stop_reason)

    best = result.history[result.best_epoch - 1]
    values = {**{name: float(getattr(best, f"val_{name}")) for name in SCORES}, **costs}
    noise = f1_noise(ctx.data.val.labels, result.best_val_predictions, ctx.data.shape.num_classes)
    trial.set_user_attr(attrs.F1_SE, round(noise.se, 6))
    if any(not math.isfinite(values[o.name]) for o in ctx.objectives):
        raise RuntimeError(f"non-finite objective values: {values}")
    archive.write_weights(
        directory,
        sample.spec,
        sample.hparams,
        result.best_state,
        {"best_epoch": result.best_epoch, "val_f1": best.val_f1},
    )
    record.update(
        state="complete",
        objectives=_named(values, ctx.objectives),
        scores={name: values[name] for name in SCORES},
        val_f1_noise=noise.to_dict(),
        best_epoch=result.best_epoch,
        samples_per_second=result.samples_per_second,
    )
    return [values[o.name] for o in ctx.objectives]


def _named(values: dict[str, float], objectives: list[Objective]) -> dict[str, float]:
    """The objective values of a trial, by name (what metrics.json records)."""
    return {o.name: values[o.name] for o in objectives}


def _optuna_pruner_says(trial: optuna.Trial, objective: Objective, epoch: Any) -> str | None:
    """Report the objective's per-epoch value; None unless the study's pruner prunes."""
    if not objective.score:  # a cost objective: nothing changes per epoch
        return None
    trial.report(float(getattr(epoch, f"val_{objective.name}")), epoch.epoch)
    if trial.should_prune():
        pruner = type(trial.study.pruner).__name__
        return f"{pruner} pruned at epoch {epoch.epoch}"
    return None


def _costs(model: torch.nn.Module) -> dict[str, float]:
    """Zero-cost objectives, counted before any training; nothing is timed, so the search
    replays (``latency_ms`` here is ``estimate_latency_ms``; the profile step measures the
    front)."""
    counts = forward_counts(model, model.input_shape)
    return {
        "params": count_params(model),
        "macs": counts.macs,
        "latency_ms": estimate_latency_ms(counts),
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
        trial.set_user_attr(attrs.INFEASIBLE, record["reason"])
    return bool(broken)


def _reuse(trial: optuna.Trial, key: str, objectives: list[Objective]) -> dict[str, Any] | None:
    """A finished trial with the same spec and hyperparameters: reuse its values, costs and
    feasibility. Returns what this trial's metrics.json records (the same keys as a trained
    trial's: named objectives and costs), or None."""
    for other in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if other.number == trial.number or other.user_attrs.get(attrs.CONFIG_HASH) != key:
            continue
        source = other.user_attrs.get(attrs.REUSED_FROM, other.number)
        trial.set_user_attr(attrs.REUSED_FROM, source)
        for attr in (attrs.COSTS, attrs.INFEASIBLE, attrs.F1_SE):
            if attr in other.user_attrs:
                trial.set_user_attr(attr, other.user_attrs[attr])
        for name, value in other.constraints.items():
            trial.set_constraint(name, value)
        _logger.info(
            "trial %d: same configuration as trial %d, values reused", trial.number, source
        )
        state = "infeasible" if attrs.is_infeasible(other) else "complete"
        return {
            "state": state,
            "reused_from": source,
            "objectives": dict(zip([o.name for o in objectives], other.values, strict=True)),
            "costs": other.user_attrs.get(attrs.COSTS, {}),
        }
    return None


def _finish(directory: Path, record: dict, state: str, started: float, reason: str | None = None):
    record["state"] = state
    if reason:
        record["reason"] = reason
    record["seconds"] = round(time.perf_counter() - started, 3)
    record["torch"] = torch.__version__
    archive.write_metrics(directory, record)
