"""The study as the report sees it: each trial's outcome and values, the candidates select
chose from (``search.attrs.candidates``), their front layers and the hypervolume over trials.

Infeasible trials report F1 0 with their real costs, so they would sit on the front by cost
alone; every front, hypervolume and importance here leaves them out (and the repeats of a
configuration), and the plots draw them apart.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from paretonas import pareto
from paretonas.objectives import Objective
from paretonas.search import attrs
from paretonas.search.study import objectives_of

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialRow:
    """One trial: ``state`` is one of ``attrs.OUTCOMES``; ``candidate`` says whether select
    could choose it (complete, feasible, the first of its configuration)."""

    number: int
    state: str
    values: tuple[float, ...] | None
    reason: str = ""
    reused_from: int | None = None
    candidate: bool = False
    f1_se: float = 0.0


@dataclass
class TrialTable:
    """Every trial of a study, with the study's objectives. With ``latency`` (the profile
    step's figures) the latency of a profiled trial is the profiled one and, as in select,
    only profiled trials are candidates; ``min_f1`` leaves chance-level trials out of the
    candidates and ``f1_noise`` makes the layers noise-aware, as select does."""

    objectives: list[Objective]
    rows: list[TrialRow]
    f1_noise: float = 0.0
    profiled: bool = False

    @classmethod
    def from_study(
        cls,
        study: optuna.Study,
        latency: dict[int, float] | None = None,
        f1_noise: float = 0.0,
        min_f1: float | None = None,
    ) -> TrialTable:
        objectives = objectives_of(study)
        column = next((j for j, o in enumerate(objectives) if o.name == "latency_ms"), None)
        f1 = next((j for j, o in enumerate(objectives) if o.name == "f1"), None)
        profiled = latency is not None and column is not None
        trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        chosen = {t.number for t in attrs.candidates(trials)}
        rows = []
        for t in trials:
            values = [float(v) for v in t.values] if t.values is not None else None
            candidate = t.number in chosen
            if profiled and values is not None:
                if t.number in latency:
                    values[column] = latency[t.number]
                candidate = candidate and t.number in latency
            if candidate and min_f1 is not None and f1 is not None:
                candidate = values[f1] >= min_f1  # as select: chance-level models trade nothing
            rows.append(
                TrialRow(
                    t.number,
                    attrs.outcome(t),
                    None if values is None else tuple(values),
                    attrs.reason(t),
                    attrs.get(t, attrs.REUSED_FROM),
                    candidate,
                    float(attrs.get(t, attrs.F1_SE) or 0.0),
                )
            )
        return cls(objectives, rows, f1_noise, profiled)

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.objectives]

    def label(self, j: int) -> str:
        """An axis label that says what the values are (which latency, above all)."""
        objective = self.objectives[j]
        text = f"{objective.name} ({objective.direction})"
        if objective.name == "latency_ms":
            text += ": profiled, estimate if not" if self.profiled else ": the search's estimate"
        return text

    def counts(self) -> dict[str, int]:
        """Trials per outcome (complete counts feasible trained trials only)."""
        out = dict.fromkeys(attrs.OUTCOMES, 0)
        for row in self.rows:
            out[row.state] = out.get(row.state, 0) + 1
        return out

    def of_state(self, state: str) -> list[TrialRow]:
        return [row for row in self.rows if row.state == state]

    def feasible(self) -> list[TrialRow]:
        """Select's candidates: complete, feasible, first of their configuration."""
        return [row for row in self.rows if row.candidate]

    def values(self, rows: list[TrialRow]) -> np.ndarray:
        return np.array([row.values for row in rows], dtype=float).reshape(
            len(rows), len(self.objectives)
        )

    def layers(self) -> dict[int, int]:
        """Trial number -> non-dominated layer (0 is the Pareto front) of the candidates."""
        rows = self.feasible()
        if not rows:
            return {}
        points = pareto.losses(self.values(rows), self.objectives)
        noise = np.zeros(points.shape)
        for j, objective in enumerate(self.objectives):
            if objective.name == "f1":
                noise[:, j] = [self.f1_noise * row.f1_se for row in rows]
        return {
            rows[i].number: layer
            for layer, members in enumerate(pareto.nondominated_layers(points, noise))
            for i in members
        }


def reference_point(table: TrialTable) -> dict[str, float]:
    """The select stage's default reference point of the candidates."""
    return pareto.reference_point(table.values(table.feasible()), table.objectives)


def hypervolume_history(
    table: TrialTable, reference: dict[str, float]
) -> tuple[list[int], list[float]]:
    """Hypervolume of the candidates' front after each finished trial (complete or infeasible),
    in the select stage's losses, so the last value equals finalists.yaml's."""
    missing = [name for name in table.names if name not in reference]
    if missing:
        raise ValueError(f"the reference point has no value for {missing}")
    finished = [row for row in table.rows if row.state in ("complete", "infeasible") and row.values]
    points = np.full((len(finished), len(table.objectives)), 2.0)  # outside the box: adds 0
    scored = [i for i, row in enumerate(finished) if row.candidate]
    if scored:
        values = table.values([finished[i] for i in scored])
        points[scored] = pareto.to_losses(values, table.objectives, reference)
    return [row.number for row in finished], pareto.hypervolume_history(points)


def copy_study(
    study: optuna.Study, table: TrialTable, objective: int | None = None
) -> optuna.Study:
    """An in-memory study of the feasible trials only (all objectives, or just ``objective``),
    so Optuna's plots and importances never see infeasible, pruned or failed trials."""
    keep = {row.number for row in table.feasible()}
    if objective is None:
        copy = optuna.create_study(directions=[o.direction for o in table.objectives])
        names = table.names
    else:
        copy = optuna.create_study(direction=table.objectives[objective].direction)
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
