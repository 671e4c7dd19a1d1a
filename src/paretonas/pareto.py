"""Pareto geometry in one place: losses on a common scale, non-dominated layers, hypervolume,
the knee. Select, the report, the tests and the benchmarks all use these functions.

Objective values become *losses* so that every objective is minimized and the reference point
is (1, ..., 1):

- a maximized score (F1, accuracy: in [0, 1]) becomes ``(1 - value) / (1 - ref)``, and with the
  default reference 0 that is ``1 - value``;
- a minimized value (params, MACs, latency, bytes, loss) becomes ``value / ref``, the default
  reference being 1.1x the largest value among the points.

So the hypervolume of a front is the volume it dominates inside the unit box.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from paretonas.objectives import Objective

COST_MARGIN = 1.1  # default reference point of a cost: 1.1x the largest value seen


def reference_point(values: np.ndarray, objectives: Sequence[Objective]) -> dict[str, float]:
    """The default reference point: 0 for a maximized score, ``COST_MARGIN`` x the largest
    value for anything minimized. ``values`` has shape (points, objectives)."""
    values = np.asarray(values, dtype=float).reshape(-1, len(objectives))
    return {
        o.name: 0.0 if o.maximize else float(COST_MARGIN * max(values[:, j].max(), 1e-12))
        for j, o in enumerate(objectives)
    }


def to_losses(
    values: np.ndarray, objectives: Sequence[Objective], reference: Mapping[str, float]
) -> np.ndarray:
    """Values -> losses (see the module docstring); the reference point maps to all ones."""
    values = np.asarray(values, dtype=float).reshape(-1, len(objectives))
    out = np.empty_like(values)
    for j, objective in enumerate(objectives):
        ref = float(reference[objective.name])
        if objective.maximize:
            if ref >= 1.0:
                raise ValueError(f"reference point {objective.name}={ref} must be below 1")
            out[:, j] = (1.0 - values[:, j]) / (1.0 - ref)
        else:
            if ref <= 0:
                raise ValueError(f"reference point {objective.name}={ref} must be positive")
            out[:, j] = values[:, j] / ref
    return out


def losses(values: np.ndarray, objectives: Sequence[Objective]) -> np.ndarray:
    """Losses against the default reference point of ``values`` themselves."""
    return to_losses(values, objectives, reference_point(values, objectives))


def nondominated_layers(points: np.ndarray, noise: np.ndarray | None = None) -> list[list[int]]:
    """Indices of loss ``points``, layer by layer (layer 0 is the Pareto front). Equal points
    do not dominate each other, so they share a layer.

    ``noise`` (same shape as ``points``, or None): each value's standard error. Then a
    difference within ``sqrt(se_i**2 + se_j**2)`` decides nothing (epsilon-dominance): i
    dominates j when it is no worse than j beyond the noise in every loss and better beyond
    it in one. Two models whose F1 differ by less than the noise tie on F1, and the cheaper
    one dominates."""
    points = np.asarray(points, dtype=float)
    if len(points) == 0:
        return []
    if noise is None:
        tolerance = np.zeros((len(points), len(points), points.shape[1]))
    else:
        noise = np.asarray(noise, dtype=float)
        tolerance = np.sqrt(noise[None, :, :] ** 2 + noise[:, None, :] ** 2)
    # dominated_by[i, j]: point j dominates point i (difference = j - i, per loss)
    difference = points[None, :, :] - points[:, None, :]
    no_worse = np.all(difference <= tolerance, axis=2)
    better = np.any(difference < -tolerance, axis=2)
    dominated_by = no_worse & better
    remaining = np.ones(len(points), dtype=bool)
    layers = []
    while remaining.any():
        front = remaining & ~np.any(dominated_by & remaining[None, :], axis=1)
        if not front.any():  # a cycle of noisy dominance: fall back to plain dominance
            return layers + nondominated_layers_of(points, np.flatnonzero(remaining))
        layers.append([int(i) for i in np.flatnonzero(front)])
        remaining &= ~front
    return layers


def nondominated_layers_of(points: np.ndarray, subset: np.ndarray) -> list[list[int]]:
    """Plain layers of ``points[subset]``, as indices into ``points``."""
    return [[int(subset[i]) for i in layer] for layer in nondominated_layers(points[subset])]


def hypervolume(points: np.ndarray) -> float:
    """Volume that loss ``points`` dominate inside the unit box (reference point all ones);
    points outside the box add nothing."""
    from optuna._hypervolume import compute_hypervolume  # exact WFG; no public equivalent

    points = np.asarray(points, dtype=float)
    if len(points) == 0:
        return 0.0
    inside = points[np.all(points < 1.0, axis=1)]
    if len(inside) == 0:
        return 0.0
    return float(compute_hypervolume(inside, np.ones(points.shape[1])))


def hypervolume_history(points: np.ndarray) -> list[float]:
    """The hypervolume of the first i loss points, for every i (in the given order)."""
    from optuna._hypervolume import compute_hypervolume

    points = np.asarray(points, dtype=float)
    reference = np.ones(points.shape[1]) if points.ndim == 2 else None
    kept: list[np.ndarray] = []
    volume, out = 0.0, []
    for point in points:
        if np.all(point < 1.0) and not any(np.all(k <= point) for k in kept):
            kept = [k for k in kept if not np.all(point <= k)] + [point]
            volume = float(compute_hypervolume(np.array(kept), reference, assume_pareto=True))
        out.append(volume)
    return out


def exclusive_contributions(points: np.ndarray) -> np.ndarray:
    """How much hypervolume each loss point alone adds to the others."""
    points = np.asarray(points, dtype=float)
    total = hypervolume(points)
    return np.array([total - hypervolume(np.delete(points, i, axis=0)) for i in range(len(points))])


def knee_order(points: np.ndarray) -> list[int]:
    """Indices by distance to the ideal point after min-max scaling of each loss: the knee
    first (ties keep the given order)."""
    points = np.asarray(points, dtype=float)
    low, high = points.min(axis=0), points.max(axis=0)
    scaled = (points - low) / np.where(high > low, high - low, 1.0)
    return [int(i) for i in np.argsort(np.linalg.norm(scaled, axis=1), kind="stable")]
