"""The benchmarks' own arithmetic: the 2-D hypervolume, its curve over time, and the
time-to-reach that B1's and B6's goals are judged on."""

from __future__ import annotations

import numpy as np
import pytest
from optuna._hypervolume import compute_hypervolume

from benchmarks.common import PARAMS_REF, hv_at, hv_curve, hypervolume, scored, time_to_reach


@pytest.mark.parametrize("seed", range(5))
def test_hypervolume_matches_optuna(seed):
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, 1.2, size=(30, 2))  # some outside the reference box
    inside = points[(points < 1.0).all(axis=1)]
    expected = float(compute_hypervolume(inside, np.array([1.0, 1.0]))) if len(inside) else 0.0
    assert hypervolume(map(tuple, points)) == pytest.approx(expected, abs=1e-12)


def test_hypervolume_edges():
    assert hypervolume([]) == 0.0
    assert hypervolume([(0.0, 0.0)]) == 1.0
    assert hypervolume([(0.5, 0.5), (0.5, 0.5), (0.6, 0.6)]) == pytest.approx(0.25)
    assert hypervolume([(1.0, 0.0), (0.0, 1.0)]) == 0.0  # on the reference: nothing


def test_curve_and_time_to_reach():
    trials = [
        {"t": 5.0, "f1": 0.5, "params": PARAMS_REF // 2},
        {"t": 9.0, "state": "pruned"},  # not scored
        {"t": 12.0, "f1": 0.9, "params": PARAMS_REF // 2},
        {"t": 20.0, "f1": 0.4, "params": PARAMS_REF * 2},  # over the size budget: adds nothing
        {"t": 40.0, "f1": 0.99, "params": 100},  # after the budget below
    ]
    curve = hv_curve(scored(trials), budget_s=30.0)
    assert [t for t, _ in curve] == [0.0, 5.0, 12.0, 20.0]
    values = [hv for _, hv in curve]
    assert values == sorted(values)  # never decreases
    assert hv_at(curve, 30.0) == pytest.approx(0.9 * 0.5)
    assert hv_at(curve, 11.0) == pytest.approx(0.5 * 0.5)
    assert time_to_reach(curve, 0.3) == 12.0
    assert time_to_reach(curve, 0.5) is None
