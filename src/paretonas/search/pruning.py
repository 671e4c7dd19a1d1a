"""Multi-objective pruning: stop a trial that finished trials already beat at the same epoch.

Optuna refuses ``trial.report()`` in multi-objective studies, so no Optuna pruner applies.
Costs (params, MACs, latency) are known before training, which makes a sound rule possible:
prune at epoch e when at least ``n_dominators`` finished trials are no worse in every cost
objective and better in validation F1 at epoch e by more than ``margin``. Such a trial can
only join the Pareto front by out-learning trials that are already cheaper *and* ahead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from paretonas.search import attrs


@dataclass(frozen=True)
class FinishedTrial:
    """What pruning needs of a finished trial: its costs and its per-epoch validation F1."""

    number: int
    costs: Mapping[str, float]
    curve: tuple[float, ...]  # curve[e - 1] is the validation F1 after epoch e


@dataclass(frozen=True)
class PruningRule:
    min_epochs: int = 2
    n_startup_trials: int = 8
    n_dominators: int = 2
    margin: float = 0.02

    @classmethod
    def from_config(cls, config: Mapping) -> PruningRule:
        return cls(
            config["min_epochs"],
            config["n_startup_trials"],
            config["n_dominators"],
            config["margin"],
        )


def dominators(
    epoch: int,
    f1: float,
    costs: Mapping[str, float],
    finished: Iterable[FinishedTrial],
    margin: float,
) -> list[int]:
    """Numbers of the finished trials that beat (f1, costs) at ``epoch``."""
    out = []
    for trial in finished:
        if len(trial.curve) < epoch:
            continue
        cheaper = all(
            key in trial.costs and trial.costs[key] <= value for key, value in costs.items()
        )
        if cheaper and trial.curve[epoch - 1] > f1 + margin:
            out.append(trial.number)
    return out


def prune_reason(
    rule: PruningRule,
    epoch: int,
    f1: float,
    costs: Mapping[str, float],
    finished: list[FinishedTrial],
) -> str | None:
    """Why to prune now, or None to go on."""
    if epoch < rule.min_epochs or len(finished) < rule.n_startup_trials:
        return None
    beaten_by = dominators(epoch, f1, costs, finished, rule.margin)
    if len(beaten_by) < rule.n_dominators:
        return None
    shown = ", ".join(f"#{n}" for n in beaten_by[:5])
    return (
        f"dominated at epoch {epoch}: val F1 {f1:.4f} and costs no better than "
        f"{len(beaten_by)} finished trial(s) ({shown})"
    )


def finished_trials(study: optuna.Study, exclude: int | None = None) -> list[FinishedTrial]:
    """Completed, trained trials of ``study`` with a recorded curve."""
    out = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        curve = trial.user_attrs.get(attrs.CURVE)
        if trial.number == exclude or not curve or attrs.REUSED_FROM in trial.user_attrs:
            continue
        costs = trial.user_attrs.get(attrs.COSTS, {})
        out.append(FinishedTrial(trial.number, costs, tuple(curve)))
    return out


def single_objective_pruner(name: str) -> optuna.pruners.BasePruner:
    """Optuna's own pruners, for single-objective studies."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    return optuna.pruners.NopPruner()
