"""Multi-objective successive halving (MO-ASHA): stop trials that trail at a rung.

Optuna refuses ``trial.report()`` in multi-objective studies, so none of its pruners
applies. Each trial trains for a budget in optimizer steps; rungs sit at
``budget / eta**k`` steps (k = ``rungs`` ... 1: never at the end, where stopping saves
nothing). At a rung the trial records its validation F1 and that F1's standard error; then
every trial that reached the rung (running or finished, any worker) is ranked by
non-dominated sorting of (F1, the cost objectives): costs are deterministic (parameters,
MACs, the latency *estimate*: never a measured time), and F1 differences within
``f1_noise`` standard errors decide nothing, so a tie goes to the cheaper model. Exactly
the top ``ceil(n / eta)`` go on: whole layers while they fit, and in the layer that
straddles the cut its best F1, then the members that keep the most hypervolume
(SMS-EMOA's reduction: a near-useless extreme, such as a tiny model at chance F1, goes
first). Everyone else is
pruned. Asynchronous, as ASHA: a decision uses whoever reached the rung so far, and none
waits for anyone.

``mode: shadow`` makes every decision and records it (``attrs.SHADOW_PRUNE``) without
stopping anything: one run measures the rule's false-prune rate (trials it would have
stopped that reached the front) and the time it would have saved (``shadow_summary``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from paretonas.chance import proportion_se
from paretonas.search import attrs

MODES = ("prune", "shadow", "off")


@dataclass(frozen=True)
class SuccessiveHalving:
    """The rule's settings (``pruning`` in the workflow config)."""

    mode: str = "prune"
    eta: int = 3
    rungs: int = 1
    n_startup_trials: int = 5
    f1_noise: float = 1.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SuccessiveHalving:
        return cls(
            config["mode"],
            config["eta"],
            config["rungs"],
            config["n_startup_trials"],
            config["f1_noise"],
        )

    @property
    def shadow(self) -> bool:
        return self.mode == "shadow"

    def rung_steps(self, budget: int) -> list[int]:
        """The steps at which a trial of ``budget`` steps is judged, earliest first (rung 0
        is the earliest); rungs that would fall before the first step are left out."""
        steps = [round(budget / self.eta**k) for k in range(self.rungs, 0, -1)]
        return [s for s in steps if 1 <= s < budget]


@dataclass(frozen=True)
class RungEntry:
    """A trial's standing at one rung: validation F1 there, its standard error, its costs."""

    number: int
    f1: float
    se: float
    costs: Mapping[str, float]


def decide(
    rule: SuccessiveHalving, rung: int, me: RungEntry, others: Iterable[RungEntry]
) -> str | None:
    """Why to stop ``me`` at ``rung``, or None to go on. ``others``: every other trial that
    reached this rung (those lacking one of ``me``'s costs are left out)."""
    entries = [me] + [
        e for e in others if e.number != me.number and all(k in e.costs for k in me.costs)
    ]
    if len(entries) < rule.n_startup_trials:
        return None
    keys = sorted(me.costs)
    points = np.array([[-e.f1] + [float(e.costs[k]) for k in keys] for e in entries])
    noise = np.zeros_like(points)
    noise[:, 0] = [rule.f1_noise * e.se for e in entries]
    from paretonas.pareto import nondominated_layers

    layers = nondominated_layers(points, noise)
    keep = math.ceil(len(entries) / rule.eta)
    ahead = 0
    for depth, layer in enumerate(layers):
        if 0 in layer:
            if ahead + len(layer) <= keep or (
                ahead < keep and 0 in _most_contributing(points, layer, keep - ahead)
            ):
                return None
            where = "past" if ahead >= keep else "inside"
            return (
                f"rung {rung}: layer {depth + 1} of the {len(entries)} trials that reached it "
                f"({ahead} ahead; the top {keep} = 1/{rule.eta} go on, {where} this layer): "
                f"val F1 {me.f1:.4f} ± {me.se:.4f}"
            )
        ahead += len(layer)
    return None  # pragma: no cover (entry 0 is in some layer)


def _most_contributing(points: np.ndarray, layer: list[int], need: int) -> list[int]:
    """The ``need`` members of ``layer`` that keep the most hypervolume: the best F1 (the
    accuracy end of the front, whose share a reference point at the largest cost would
    shrink to nothing), then the others by dropping the member that adds least to the rest,
    again and again (SMS-EMOA's reduction). Losses: 1 - F1, each cost over 1.1x its largest
    value at the rung (``pareto.reference_point``); a tie drops the member with the larger
    sum of losses."""
    from paretonas.pareto import COST_MARGIN, exclusive_contributions

    losses = np.array(points, dtype=float)
    losses[:, 0] += 1.0  # -F1 -> 1 - F1
    scale = COST_MARGIN * np.maximum(losses[:, 1:].max(axis=0), 1e-12)
    losses[:, 1:] /= scale
    best = min(layer, key=lambda i: (losses[i, 0], losses[i, 1:].sum()))
    kept = list(layer)
    while len(kept) > need:
        share = exclusive_contributions(losses[kept])
        total = losses[kept].sum(axis=1)
        droppable = [i for i in range(len(kept)) if kept[i] != best]
        kept.pop(min(droppable, key=lambda i: (share[i], -total[i])))
    return kept


def rung_entries(
    trials: Iterable[FrozenTrial], rung: int, cost_keys: Sequence[str]
) -> list[RungEntry]:
    """Every trial's standing at ``rung`` (any state: a running trial counts once there)."""
    out = []
    key = str(rung)
    for trial in trials:
        rungs = trial.user_attrs.get(attrs.RUNGS) or {}
        record, costs = rungs.get(key), rungs.get("costs") or {}
        if record is None or any(k not in costs for k in cost_keys):
            continue
        chosen = {k: float(costs[k]) for k in cost_keys}
        out.append(RungEntry(trial.number, float(record["f1"]), float(record["se"]), chosen))
    return out


def f1_standard_error(f1: float, n: int) -> float:
    """A cheap standard error for a rung's F1 (the bootstrap is left for the final score):
    a proportion's over the ``n`` validation images, the floor ``f1_noise`` also uses."""
    return proportion_se(f1, n)


def shadow_summary(study: optuna.Study) -> dict[str, Any]:
    """What shadow mode's decisions would have done to a finished search: how many trials
    it would have stopped, how many of those reached the front (false prunes), and the share
    of the search's training time it would have saved."""
    from paretonas.pareto import nondominated_layers

    trials = attrs.study_candidates(study)
    flagged = [t for t in trials if attrs.get(t, attrs.SHADOW_PRUNE)]
    front: set[int] = set()
    if trials:
        signs = [
            -1.0 if d == optuna.study.StudyDirection.MAXIMIZE else 1.0 for d in study.directions
        ]
        points = np.array([t.values for t in trials], dtype=float) * np.array(signs)
        front = {trials[i].number for i in nondominated_layers(points)[0]}
    total = saved = 0.0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        seconds = float(attrs.get(trial, attrs.TRAIN_SECONDS) or 0.0)
        total += seconds
        decision = attrs.get(trial, attrs.SHADOW_PRUNE)
        if decision:
            saved += max(0.0, seconds - float(decision["seconds"]))
    false = sorted(t.number for t in flagged if t.number in front)
    return {
        "trials": len(trials),
        "would_prune": len(flagged),
        "front": len(front),
        "false_prunes": false,
        "false_prune_rate": len(false) / len(flagged) if flagged else 0.0,
        "front_lost": len(false) / len(front) if front else 0.0,
        "time_saved_fraction": saved / total if total else 0.0,
    }


def single_objective_pruner(name: str) -> optuna.pruners.BasePruner:
    """Optuna's own pruners, for single-objective studies."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    return optuna.pruners.NopPruner()
