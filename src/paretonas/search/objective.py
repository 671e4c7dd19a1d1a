"""One trial: sample, deduplicate, build, pre-filter on costs, train with pruning, score,
archive. Anything that goes wrong ends this trial FAIL with its reason; the worker goes on.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass, field, replace
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
from paretonas.search.archive import config_hash
from paretonas.search.pruning import (
    RungEntry,
    SuccessiveHalving,
    decide,
    f1_standard_error,
    rung_entries,
)
from paretonas.search.sampling import trials_at_start
from paretonas.search.space import DataShape, Sample, SearchSpace
from paretonas.training import (
    Augment,
    EpochRecord,
    HParams,
    Split,
    TrainingDiverged,
    budget_steps,
    f1_noise,
    fit,
)

_logger = logging.getLogger(__name__)


@dataclass
class SearchData:
    """The search subsample and what training needs to read it. ``augment`` is the default
    policy (the config's ``data.augment``) that a space's ``hparams.augment`` overrides."""

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
    pruning: SuccessiveHalving | None  # None: no pruning
    device: str = "auto"
    stats: dict[str, int] = field(default_factory=dict)


def trial_seed(seed: int, number: int) -> int:
    """Training seed of trial ``number``: the same wherever (whichever worker) it runs."""
    digest = hashlib.sha256(f"{seed}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def objective(trial: optuna.Trial, ctx: TrialContext) -> list[float]:
    """Optuna objective; raises optuna.TrialPruned or an exception (-> FAIL) as needed.

    The trial's attributes go to storage as one record (``attrs.RECORD``), written twice: at
    the start (worker and archive: who runs it, for status and recovery) and at the end
    (everything); at each rung the rung standing is a write of its own (``attrs.RUNGS``)."""
    started = time.perf_counter()
    directory = archive.trial_dir(ctx.study_dir, trial.number)
    attributes: dict[str, Any] = {attrs.ARCHIVE: str(directory), attrs.WORKER: ctx.worker_id}
    trial.set_user_attr(attrs.RECORD, dict(attributes))
    seed = trial_seed(ctx.seed, trial.number)
    record: dict[str, Any] = {
        "number": trial.number,
        "seed": seed,
        "worker": ctx.worker_id,
        "hardware": fingerprint(),
    }
    try:
        values = _run(trial, ctx, directory, seed, record, attributes)
    except optuna.TrialPruned as pruned:
        attributes.setdefault(attrs.PRUNE_REASON, str(pruned))
        _write(trial, attributes)
        _finish(directory, record, "pruned", started, reason=str(pruned))
        raise
    except KeyboardInterrupt:  # SIGTERM or Ctrl-C: record it, let the worker stop
        attributes[attrs.FAIL_REASON] = "terminated"
        _write(trial, attributes)
        _finish(directory, record, "fail", started, reason="terminated")
        raise
    except Exception as exc:  # isolate: this trial fails, the worker and study go on
        reason = f"{type(exc).__name__}: {exc}"
        attributes[attrs.FAIL_REASON] = reason[:2000]
        _write(trial, attributes)
        _finish(directory, record, "fail", started, reason=reason)
        raise
    _write(trial, attributes)
    _finish(directory, record, record.get("state", "complete"), started)
    return values


def _write(trial: optuna.Trial, attributes: dict[str, Any]) -> None:
    """The trial's record, in one storage write."""
    trial.set_user_attr(attrs.RECORD, attributes)


def _run(
    trial: optuna.Trial,
    ctx: TrialContext,
    directory: Path,
    seed: int,
    record: dict,
    attributes: dict[str, Any],
) -> list[float]:
    sample = ctx.space.sample(trial, ctx.data.shape)
    hparams, archived = effective_hparams(sample, ctx.data, f"trial {trial.number} hparams")
    spec_yaml = sample.spec.to_yaml()
    key = config_hash(spec_yaml, archived)
    attributes.update({attrs.CONFIG_HASH: key, attrs.SPEC: spec_yaml})
    archive.write_config(directory, sample.spec, archived)
    record.update(hparams=archived, config_hash=key)

    reused = _reuse(trial, key, ctx.objectives, attributes)
    if reused is not None:
        record.update(reused)
        return [reused["objectives"][o.name] for o in ctx.objectives]

    torch.manual_seed(seed)  # the same trial number builds the same initial weights
    try:
        model = build_model(sample.spec)
    except ParetonasError as exc:
        raise RuntimeError(f"spec does not build: {exc}") from None
    costs = _costs(model)
    attributes[attrs.COSTS] = costs
    record["costs"] = costs
    record["latency"] = "costs.latency_ms is the search's estimate (estimate_latency_ms)"
    if _infeasible(trial, ctx, costs, record, attributes):
        values = {**{o.name: o.untrained for o in ctx.objectives if o.score}, **costs}
        record.update(state="infeasible", objectives=_named(values, ctx.objectives))
        return [values[o.name] for o in ctx.objectives]

    budget = budget_steps(hparams, len(ctx.data.train))
    attributes[attrs.BUDGET_STEPS] = budget
    record["budget_steps"] = budget
    rungs = Rungs(trial, ctx, costs, budget, attributes)
    try:
        result = fit(
            model,
            ctx.data.train,
            ctx.data.val,
            hparams,
            mean=ctx.data.mean,
            std=ctx.data.std,
            seed=seed,
            device=ctx.device,
            eval_steps=rungs.steps,
            restarts=rungs.steps,  # rung-aware: the schedule anneals at every rung
            on_eval=rungs.on_eval,
        )
    except TrainingDiverged as exc:
        raise RuntimeError(f"training diverged: {exc}") from None
    record["curve"] = [evaluation.to_dict() for evaluation in result.history]
    record["rungs"] = rungs.standing
    attributes[attrs.CURVE] = [[r.step, round(r.val_f1, 6)] for r in result.history]
    attributes[attrs.TRAIN_SECONDS] = round(result.seconds, 3)
    if rungs.shadow is not None:
        attributes[attrs.SHADOW_PRUNE] = rungs.shadow
        record["shadow_prune"] = rungs.shadow
    if result.stopped:
        attributes[attrs.PRUNE_REASON] = result.stop_reason
        raise optuna.TrialPruned(result.stop_reason)

    best = result.history[result.best_epoch - 1]
    values = {**{name: float(getattr(best, f"val_{name}")) for name in SCORES}, **costs}
    noise = f1_noise(ctx.data.val.labels, result.best_val_predictions, ctx.data.shape.num_classes)
    attributes[attrs.F1_SE] = round(noise.se, 6)
    if any(not math.isfinite(values[o.name]) for o in ctx.objectives):
        raise RuntimeError(f"non-finite objective values: {values}")
    archive.write_weights(
        directory,
        sample.spec,
        archived,
        result.best_state,
        {"best_step": best.step, "val_f1": best.val_f1},
    )
    record.update(
        state="complete",
        objectives=_named(values, ctx.objectives),
        scores={name: values[name] for name in SCORES},
        val_f1_noise=noise.to_dict(),
        best_step=best.step,
        samples_per_second=result.samples_per_second,
    )
    return [values[o.name] for o in ctx.objectives]


def effective_hparams(
    sample: Sample, data: SearchData, source: str
) -> tuple[HParams, dict[str, Any]]:
    """What the trial trains with, and what its archive records so that finalize retrains
    exactly that: the sampled values plus the input size the model was built for and the
    whole augmentation policy (``data.augment`` with the sampled ``augment`` keys over it)."""
    hparams = HParams.from_dict(sample.hparams, source, augment=data.augment)
    height, width = sample.spec.input_size or data.shape.input_shape[1:]
    if hparams.img_size is None and height == width:
        hparams = replace(hparams, img_size=height)
    archived = {**sample.hparams, "augment": hparams.augment.to_dict()}
    if hparams.img_size is not None:
        archived["img_size"] = hparams.img_size
    return hparams, archived


class Rungs:
    """One trial's rungs: where it is judged, what it records there, what the rule says.

    Multi-objective studies use ``SuccessiveHalving`` (``ctx.pruning``); a single-objective
    study reports every evaluation to Optuna's own pruner instead."""

    def __init__(
        self,
        trial: optuna.Trial,
        ctx: TrialContext,
        costs: dict[str, float],
        budget: int,
        attributes: dict[str, Any],
    ) -> None:
        self.trial, self.ctx, self.attributes = trial, ctx, attributes
        self.rule = ctx.pruning
        self.single = len(ctx.objectives) == 1
        self.costs = {o.name: float(costs[o.name]) for o in ctx.objectives if o.cost}
        self.steps = [] if self.rule is None or self.single else self.rule.rung_steps(budget)
        self.standing: dict[str, Any] = {"costs": self.costs}
        self.shadow: dict[str, Any] | None = None
        self.started = time.perf_counter()

    def on_eval(self, evaluation: EpochRecord) -> str | None:
        if self.rule is None:
            return None
        if self.single:
            return _optuna_pruner_says(self.trial, self.ctx.objectives[0], evaluation)
        if evaluation.step not in self.steps:
            return None
        rung = self.steps.index(evaluation.step)
        seconds = time.perf_counter() - self.started
        se = f1_standard_error(evaluation.val_f1, len(self.ctx.data.val))
        self.standing[str(rung)] = {
            "step": evaluation.step,
            "f1": round(evaluation.val_f1, 6),
            "se": round(se, 6),
            "seconds": round(seconds, 3),
        }
        self.trial.set_user_attr(attrs.RUNGS, self.standing)  # others rank against it now
        me = RungEntry(self.trial.number, evaluation.val_f1, se, self.costs)
        others = rung_entries(self.trial.study.get_trials(deepcopy=False), rung, list(self.costs))
        reason = decide(self.rule, rung, me, others)
        if reason is None or not self.rule.shadow:
            return reason
        if self.shadow is None:  # shadow mode: the first decision to stop, then go on
            self.shadow = {
                "rung": rung,
                "step": evaluation.step,
                "seconds": round(seconds, 3),
                "reason": reason,
            }
            _logger.info("trial %d: shadow pruning would stop it: %s", self.trial.number, reason)
        return None


def _named(values: dict[str, float], objectives: list[Objective]) -> dict[str, float]:
    """The objective values of a trial, by name (what metrics.json records)."""
    return {o.name: values[o.name] for o in objectives}


def _optuna_pruner_says(trial: optuna.Trial, objective: Objective, epoch: Any) -> str | None:
    """Report the objective's per-epoch value; None unless the study's pruner prunes."""
    if not objective.score:  # a cost objective: nothing changes per epoch
        return None
    trial.report(float(getattr(epoch, f"val_{objective.name}")), epoch.step)
    if trial.should_prune():
        pruner = type(trial.study.pruner).__name__
        return f"{pruner} pruned at step {epoch.step} (epoch {epoch.epoch})"
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


def _infeasible(
    trial: optuna.Trial, ctx: TrialContext, costs: dict, record: dict, attributes: dict
) -> bool:
    """Set every constraint (value - limit; > 0 is infeasible); True if any is broken."""
    broken = []
    for key, limit in ctx.constraints.items():
        if limit is None:
            continue
        name = key.removesuffix("_max")
        excess = float(costs[name]) - float(limit)
        trial.set_constraint(name, excess)
        if excess > 0:
            shown = f"{_shown(costs[name])} > search.constraints.{key} = {_shown(limit)}"
            broken.append(f"{name} {shown}")
    if broken:
        record["reason"] = "infeasible: " + "; ".join(broken)
        attributes[attrs.INFEASIBLE] = record["reason"]
    return bool(broken)


def _shown(value: float) -> str:
    """12,345 for a count, 4 significant digits for a float (a latency)."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.4g}"


def _reuse(
    trial: optuna.Trial, key: str, objectives: list[Objective], attributes: dict[str, Any]
) -> dict[str, Any] | None:
    """A finished trial with the same spec and hyperparameters (looked up in the read the
    sampler made when this trial started): reuse its values, costs and feasibility. Returns
    what this trial's metrics.json records (the same keys as a trained trial's: named
    objectives and costs), or None."""
    for other in trials_at_start(trial):
        if other.state != TrialState.COMPLETE or other.number == trial.number:
            continue
        if attrs.get(other, attrs.CONFIG_HASH) != key:
            continue
        source = attrs.get(other, attrs.REUSED_FROM, other.number)
        attributes[attrs.REUSED_FROM] = source
        for attr in (attrs.COSTS, attrs.INFEASIBLE, attrs.F1_SE):
            if attrs.get(other, attr) is not None:
                attributes[attr] = attrs.get(other, attr)
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
            "costs": attrs.get(other, attrs.COSTS, {}),
        }
    return None


def _finish(directory: Path, record: dict, state: str, started: float, reason: str | None = None):
    record["state"] = state
    if reason:
        record["reason"] = reason
    record["seconds"] = round(time.perf_counter() - started, 3)
    record["torch"] = torch.__version__
    archive.write_metrics(directory, record)
