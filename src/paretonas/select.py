"""Pareto front -> K finalists, by a documented rule.

Candidates are the study's complete, feasible trials (infeasible and duplicate configurations
excluded). Objectives are turned into losses on a common scale so that the knee and the
hypervolume mean something across units:

- a score in [0, 1] that is maximized (F1, accuracy) becomes ``1 - value``;
- anything minimized (params, MACs, latency, bytes, loss) becomes ``value / (1.1 * max)``, the
  max taken over the candidates;

so every loss lies in [0, 1) and the hypervolume's reference point is (1, ..., 1): F1 0 and
1.1x the largest cost seen. Finalist slots, filled in order:

1. the best trial in the first maximized objective (F1 by default; ties: fewer losses summed);
2. the knee: the front member nearest (Euclidean) to the ideal point after min-max scaling;
3. then the largest exclusive hypervolume contributions.

If the front has fewer than K members, the same rule fills from the next non-dominated layer.
Only trials whose first maximized objective reaches ``min_relative_score`` x the best value
are eligible (a 178-parameter model with F1 0.4 is on the front, but no one wants it as a
finalist); when fewer than K are eligible, the best of the rest (by that objective) fill in.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import yaml
from optuna.trial import TrialState

from paretonas.errors import SearchError
from paretonas.yamlio import atomic_write_text

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    number: int
    values: tuple[float, ...]
    archive: str


@dataclass(frozen=True)
class Finalist:
    rank: int
    candidate: Candidate
    front: int
    why: str


def candidates(study: optuna.Study) -> list[Candidate]:
    """Complete, feasible, trained trials; of identical configurations only the first."""
    seen: set[str] = set()
    out = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        constraints = [v for k, v in trial.system_attrs.items() if k.startswith("constraints:")]
        infeasible = trial.user_attrs.get("infeasible") or any(v > 0 for v in constraints)
        key = trial.user_attrs.get("config_hash", f"#{trial.number}")
        if infeasible or key in seen or trial.values is None:
            continue
        seen.add(key)
        out.append(
            Candidate(trial.number, tuple(trial.values), trial.user_attrs.get("archive", ""))
        )
    return out


def losses(values: np.ndarray, objectives: list[tuple[str, str]]) -> np.ndarray:
    """Objective values -> losses in [0, 1) (see the module docstring). Maximized objectives
    are scores in [0, 1] (F1, accuracy: the only ones the search offers)."""
    out = np.empty(values.shape, dtype=float)
    for j, (_, direction) in enumerate(objectives):
        column = values[:, j].astype(float)
        if direction == "maximize":
            out[:, j] = 1.0 - column
        else:
            out[:, j] = column / max(column.max() * 1.1, 1e-12)
    return out


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


def nondominated_layers(points: np.ndarray) -> list[list[int]]:
    """Indices of points, layer by layer (layer 0 is the Pareto front)."""
    remaining = list(range(len(points)))
    layers = []
    while remaining:
        layer = [
            i for i in remaining if not any(dominates(points[j], points[i]) for j in remaining)
        ]
        layers.append(layer)
        remaining = [i for i in remaining if i not in layer]
    return layers


def hypervolume(points: np.ndarray) -> float:
    """Hypervolume of loss points w.r.t. the reference point (1, ..., 1)."""
    from optuna._hypervolume import compute_hypervolume  # exact WFG; no public equivalent

    if len(points) == 0:
        return 0.0
    inside = points[np.all(points < 1.0, axis=1)]
    return float(compute_hypervolume(inside, np.ones(points.shape[1]))) if len(inside) else 0.0


def knee_order(points: np.ndarray) -> list[int]:
    """Indices by distance to the ideal point after min-max scaling of each loss: the knee
    first."""
    low, high = points.min(axis=0), points.max(axis=0)
    scaled = (points - low) / np.where(high > low, high - low, 1.0)
    return [int(i) for i in np.argsort(np.linalg.norm(scaled, axis=1), kind="stable")]


def knee(points: np.ndarray) -> int:
    """Index of the knee: the point nearest the ideal after min-max scaling."""
    return knee_order(points)[0]


def choose(
    cands: list[Candidate], objectives: list[tuple[str, str]], k: int,
    min_relative_score: float = 0.0,
) -> list[Finalist]:  # fmt: skip
    """The K finalists, by the rule in the module docstring."""
    if len(cands) < k:
        raise SearchError(
            f"only {len(cands)} complete feasible trial(s) to choose from, select.k is {k}: "
            f"raise search.n_trials or lower select.k"
        )
    first_max = next((j for j, (_, d) in enumerate(objectives) if d == "maximize"), None)
    eligible, rest = list(cands), []
    if first_max is not None and min_relative_score > 0:
        floor = min_relative_score * max(c.values[first_max] for c in cands)
        eligible = [c for c in cands if c.values[first_max] >= floor]
        rest = sorted((c for c in cands if c.values[first_max] < floor),
                      key=lambda c: -c.values[first_max])  # fmt: skip
    chosen = _choose_from_layers(eligible, objectives, k, first_max or 0)
    for candidate in rest[: k - len(chosen)]:
        name = objectives[first_max][0]
        _logger.warning("too few trials reach select.min_relative_score; adding trial %d",
                        candidate.number)  # fmt: skip
        why = f"best remaining {name} (fewer than k trials reach select.min_relative_score)"
        chosen.append(Finalist(len(chosen) + 1, candidate, -1, why))
    return chosen


def _choose_from_layers(
    cands: list[Candidate], objectives: list[tuple[str, str]], k: int, first_max: int
) -> list[Finalist]:
    points = losses(np.array([c.values for c in cands]), objectives)
    chosen: list[Finalist] = []
    for layer_index, layer in enumerate(nondominated_layers(points)):
        where = "front" if layer_index == 0 else f"non-dominated layer {layer_index}"
        best_why = f"best {objectives[first_max][0]} on the {where}"
        for i, why in _layer_picks(points, layer, first_max, k - len(chosen), where, best_why):
            chosen.append(Finalist(len(chosen) + 1, cands[i], layer_index, why))
        if len(chosen) == k:
            break
    return chosen


def _layer_picks(points: np.ndarray, layer: list[int], first_max: int, wanted: int, where: str,
                 best_why: str) -> list[tuple[int, str]]:  # fmt: skip
    """Up to ``wanted`` (index, why) picks from one layer: best, knee, then HV contributions."""
    left, picks = list(layer), []
    if left and len(picks) < wanted:
        best = min(left, key=lambda i: (points[i, first_max], points[i].sum()))
        picks.append((best, best_why))
        left.remove(best)
    if left and len(picks) < wanted:  # the layer's knee (the next nearest if already taken)
        nearest = next(layer[i] for i in knee_order(points[layer]) if layer[i] in left)
        picks.append((nearest, f"knee of the {where} (nearest the ideal point)"))
        left.remove(nearest)
    while left and len(picks) < wanted:
        total = hypervolume(points[left])
        gains = {i: total - hypervolume(points[[j for j in left if j != i]]) for i in left}
        top = max(left, key=lambda i: (gains[i], -i))
        picks.append((top, f"largest hypervolume contribution on the {where} ({gains[top]:.4g})"))
        left.remove(top)
    return picks


def select(
    study: optuna.Study, objectives: list[tuple[str, str]], k: int, out_dir: str | Path,
    min_relative_score: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    """Write ``pareto.csv`` and ``finalists.yaml`` under ``out_dir``; return their record."""
    cands = candidates(study)
    finalists = choose(cands, objectives, k, min_relative_score)
    points = losses(np.array([c.values for c in cands]), objectives)
    layers = nondominated_layers(points)
    names = [n for n, _ in objectives]
    front_hv = hypervolume(points[layers[0]])
    used_layers = max(f.front for f in finalists)
    if any(f.front < 0 for f in finalists):  # filled from below the score floor
        used_layers = len(layers) - 1
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["trial", "front", *names, "archive"])
    for layer_index, layer in enumerate(layers[: used_layers + 1]):
        for i in sorted(layer, key=lambda i: cands[i].number):
            writer.writerow([cands[i].number, layer_index, *cands[i].values, cands[i].archive])
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "pareto.csv", rows.getvalue())
    maxima = {n: float(np.max([c.values[j] for c in cands])) for j, n in enumerate(names)}
    record = {
        "study": study.study_name,
        "k": k,
        "candidates": len(cands),
        "front_size": len(layers[0]),
        "hypervolume": {
            "value": front_hv,
            "losses": {
                n: ("1 - value" if d == "maximize" else f"value / {1.1 * maxima[n]:.6g}")
                for n, d in objectives
            },
            "reference_point": {
                n: (0.0 if d == "maximize" else round(1.1 * maxima[n], 6)) for n, d in objectives
            },
        },
        "finalists": [
            {
                "rank": f.rank,
                "trial": f.candidate.number,
                "archive": f.candidate.archive,
                "front": f.front,
                "why": f.why,
                "values": dict(zip(names, f.candidate.values, strict=True)),
            }
            for f in finalists
        ],
    }
    atomic_write_text(out_dir / "finalists.yaml", yaml.safe_dump(record, sort_keys=False))
    _logger.info("front of %d (hypervolume %.4f); finalists: %s", len(layers[0]), front_hv,
                 ", ".join(f"#{f.candidate.number} ({f.why})" for f in finalists))  # fmt: skip
    return record
