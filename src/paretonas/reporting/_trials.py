"""The study as the report sees it: each trial's state and values, feasibility, front layers and
the hypervolume over trial number.

Feasible means what the select stage means: COMPLETE, not flagged ``infeasible`` (user attr or
a positive Optuna constraint). Infeasible trials report F1 0 with their real costs, so they
would sit on the front by cost alone; every front, hypervolume and importance here leaves them
out, and the plots draw them apart.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from paretonas.reporting._inputs import ReportError

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialRow:
    """One trial: ``state`` is complete (feasible), infeasible, pruned, fail, running or waiting."""

    number: int
    state: str
    values: tuple[float, ...] | None
    reason: str = ""
    reused_from: int | None = None


def _is_infeasible(trial: optuna.trial.FrozenTrial) -> bool:
    return bool(trial.user_attrs.get("infeasible")) or any(
        value > 0 for value in trial.constraints.values()
    )


def _row(trial: optuna.trial.FrozenTrial) -> TrialRow:
    attrs = trial.user_attrs
    values = tuple(float(v) for v in trial.values) if trial.values is not None else None
    state = trial.state.name.lower()
    reason = str(attrs.get("prune_reason") or attrs.get("fail_reason") or "")
    if trial.state == TrialState.COMPLETE and _is_infeasible(trial):
        state, reason = "infeasible", str(attrs.get("infeasible") or "constraint violated")
    elif trial.state == TrialState.COMPLETE and values is None:
        state = "fail"  # never happens with Optuna's own bookkeeping; kept out of every plot
    return TrialRow(trial.number, state, values, reason, attrs.get("reused_from"))


@dataclass
class TrialTable:
    """Every trial of a study, with its objectives as ``[(name, direction)]``."""

    objectives: list[tuple[str, str]]
    rows: list[TrialRow]

    @classmethod
    def from_study(cls, study: optuna.Study, objectives: list[tuple[str, str]]) -> TrialTable:
        directions = [d.name.lower() for d in study.directions]
        if directions != [d for _, d in objectives]:
            raise ReportError(
                f"study {study.study_name!r} has directions {directions}, but the config's "
                f"search.objectives are {objectives}: pass the config the study was searched with"
            )
        rows = [_row(t) for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)]
        return cls(objectives, rows)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.objectives]

    def counts(self) -> dict[str, int]:
        """Trials per state (complete counts feasible trained trials only)."""
        out = dict.fromkeys(("complete", "infeasible", "pruned", "fail", "running", "waiting"), 0)
        for row in self.rows:
            out[row.state] = out.get(row.state, 0) + 1
        return out

    def of_state(self, state: str) -> list[TrialRow]:
        return [row for row in self.rows if row.state == state]

    def feasible(self) -> list[TrialRow]:
        return self.of_state("complete")

    def signed(self, rows: list[TrialRow]) -> np.ndarray:
        """Values as losses to minimize (maximized objectives negated); shape (rows, objectives)."""
        signs = np.array([-1.0 if d == "maximize" else 1.0 for _, d in self.objectives])
        values = np.array([row.values for row in rows], dtype=float)
        values = values.reshape(len(rows), len(self.objectives))
        return values * signs

    def layers(self) -> dict[int, int]:
        """Trial number -> non-dominated layer (0 is the Pareto front) of the feasible trials."""
        rows = self.feasible()
        points = self.signed(rows)
        # dominated_by[i, j]: trial j is no worse than i everywhere and better somewhere
        no_worse = np.all(points[None, :, :] <= points[:, None, :], axis=2)
        better = np.any(points[None, :, :] < points[:, None, :], axis=2)
        dominated_by = no_worse & better
        layer_of: dict[int, int] = {}
        remaining = np.ones(len(rows), dtype=bool)
        layer = 0
        while remaining.any():
            front = remaining & ~np.any(dominated_by & remaining[None, :], axis=1)
            for i in np.flatnonzero(front):
                layer_of[rows[i].number] = layer
            remaining &= ~front
            layer += 1
        return layer_of


def select_reference_point(table: TrialTable) -> dict[str, float]:
    """The select stage's reference point: 0 for a maximized score, 1.1x the largest feasible
    value for a cost (used when finalists.yaml carries none)."""
    values = np.array([row.values for row in table.feasible()], dtype=float)
    return {
        name: 0.0 if direction == "maximize" else float(1.1 * values[:, j].max())
        for j, (name, direction) in enumerate(table.objectives)
    }


def _losses(
    table: TrialTable, values: np.ndarray, reference: dict[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Values -> the select stage's losses (``1 - score``; ``cost / reference``) and the
    reference point in those units (all ones for select's own reference point)."""
    losses = np.empty_like(values, dtype=float)
    ref = np.empty(values.shape[1])
    for j, (name, direction) in enumerate(table.objectives):
        r = float(reference[name])
        if direction == "maximize":
            losses[:, j], ref[j] = 1.0 - values[:, j], 1.0 - r
        else:
            if r <= 0:
                raise ValueError(f"reference point {name}={r} must be positive for a cost")
            losses[:, j], ref[j] = values[:, j] / r, 1.0
    return losses, ref


def hypervolume_history(
    table: TrialTable, reference: dict[str, float]
) -> tuple[list[int], list[float]]:
    """Hypervolume of the feasible front after each finished trial, in the select stage's
    losses, so the last value equals finalists.yaml's ``hypervolume.value``."""
    from optuna._hypervolume import compute_hypervolume  # exact WFG; no public equivalent

    missing = [name for name in table.names if name not in reference]
    if missing:
        raise ValueError(f"the reference point has no value for {missing}")
    numbers: list[int] = []
    volumes: list[float] = []
    kept: list[np.ndarray] = []
    volume = 0.0
    for row in table.rows:
        if row.values is None or row.state not in ("complete", "infeasible"):
            continue
        if row.state == "complete":
            losses, ref = _losses(table, np.array([row.values], dtype=float), reference)
            point = losses[0]
            if np.all(point < ref) and not any(np.all(k <= point) for k in kept):
                kept = [k for k in kept if not np.all(point <= k)] + [point]
                volume = float(compute_hypervolume(np.array(kept), ref, assume_pareto=True))
        numbers.append(row.number)
        volumes.append(volume)
    return numbers, volumes


def copy_study(
    study: optuna.Study, table: TrialTable, objective: int | None = None
) -> optuna.Study:
    """An in-memory study of the feasible trials only (all objectives, or just ``objective``),
    so Optuna's plots and importances never see infeasible, pruned or failed trials."""
    keep = {row.number for row in table.feasible()}
    if objective is None:
        copy = optuna.create_study(directions=[d for _, d in table.objectives])
        names = table.names
    else:
        copy = optuna.create_study(direction=table.objectives[objective][1])
        names = [table.names[objective]]
    with warnings.catch_warnings():  # set_metric_names is "experimental" since Optuna 3.2
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        copy.set_metric_names(names)
    trials = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if trial.number not in keep:
            continue
        values: Any = trial.values if objective is None else [trial.values[objective]]
        trials.append(
            optuna.trial.create_trial(
                values=values,
                params=trial.params,
                distributions=trial.distributions,
                user_attrs={"trial": trial.number},
            )
        )
    copy.add_trials(trials)
    return copy
