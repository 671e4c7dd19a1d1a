"""Pareto geometry (the one module select, report and benchmarks use): hand-written fronts."""

from __future__ import annotations

import numpy as np
import pytest

from paretonas import pareto
from paretonas.objectives import from_names

F1_PARAMS = from_names(["f1", "params"])


@pytest.mark.parametrize(
    ("points", "layers"),
    [
        ([[0.1, 0.9], [0.5, 0.5], [0.9, 0.1]], [[0, 1, 2]]),
        ([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]], [[0], [1], [2]]),
        ([[0.2, 0.8], [0.3, 0.9], [0.8, 0.2], [0.5, 0.5]], [[0, 2, 3], [1]]),
        ([[0.5, 0.5], [0.5, 0.5]], [[0, 1]]),  # equal points do not dominate each other
        ([], []),
    ],
)
def test_nondominated_layers(points, layers):
    assert pareto.nondominated_layers(np.array(points)) == layers


def test_knee_is_nearest_the_ideal_point():
    front = np.array([[0.0, 1.0], [0.2, 0.3], [1.0, 0.0], [0.5, 0.1]])
    assert pareto.knee_order(front)[0] == 1


def test_hypervolume_2d_and_3d():
    assert pareto.hypervolume(np.array([[0.5, 0.5]])) == pytest.approx(0.25)
    assert pareto.hypervolume(np.array([[0.5, 0.5], [0.25, 0.75]])) == pytest.approx(0.3125)
    assert pareto.hypervolume(np.array([[1.2, 0.1]])) == 0.0  # outside the reference box
    assert pareto.hypervolume(np.empty((0, 2))) == 0.0
    # two boxes in 3-D: 0.5^3 + 0.5*0.5*1 ... = union of [0.5,1]^3 and [0,1]x[0.5,1]x[0.5,1]
    cube = np.array([[0.5, 0.5, 0.5], [0.0, 0.5, 0.5]])
    assert pareto.hypervolume(cube) == pytest.approx(0.25)


def test_exclusive_contributions():
    points = np.array([[0.2, 0.6], [0.5, 0.5], [0.6, 0.2]])
    gains = pareto.exclusive_contributions(points)
    assert gains == pytest.approx([0.3 * 0.4, 0.1 * 0.1, 0.4 * 0.3])  # each to the box's edge


def test_losses_reference_point_and_history():
    values = np.array([[0.9, 100.0], [0.5, 50.0], [0.95, 300.0]])
    reference = pareto.reference_point(values, F1_PARAMS)
    assert reference == {"f1": 0.0, "params": pytest.approx(330.0)}
    losses = pareto.to_losses(values, F1_PARAMS, reference)
    assert losses[:, 0] == pytest.approx([0.1, 0.5, 0.05])
    assert losses[:, 1] == pytest.approx([100 / 330, 50 / 330, 300 / 330])
    assert pareto.losses(values, F1_PARAMS) == pytest.approx(losses)
    history = pareto.hypervolume_history(losses)
    assert history[-1] == pytest.approx(pareto.hypervolume(losses))
    assert history[0] == pytest.approx(pareto.hypervolume(losses[:1]))
    assert history == sorted(history)  # a front only grows
    with pytest.raises(ValueError, match="must be positive"):
        pareto.to_losses(values, F1_PARAMS, {"f1": 0.0, "params": 0.0})
