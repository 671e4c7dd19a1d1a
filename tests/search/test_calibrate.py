"""calibrate: real training of models drawn from the space, timed as a worker runs them."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
import torch

from paretonas.search.calibrate import Calibration, calibrate
from paretonas.search.space import load_space
from tests.conftest import REPO


def test_times_steps_and_evaluations_and_leaves_the_process_as_it_was():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 1, 12, 12), dtype=np.uint8)
    labels = np.arange(40) % 4
    space = load_space(REPO / "config" / "search_space.yaml")
    threads = torch.get_num_threads()
    verbosity = optuna.logging.get_verbosity()
    result = calibrate(space, images, labels, 4, models=2, steps=6)
    assert result.models == 2 and result.steps == 6
    assert 0 < result.step_seconds < 5
    assert 0 < result.eval_image_seconds < 0.1
    assert result.device == "cpu" or result.device.startswith("cuda")
    assert torch.get_num_threads() == threads
    assert optuna.logging.get_verbosity() == verbosity
    assert "2 models drawn from the space, up to 6 training steps each" in result.describe()


@pytest.mark.parametrize(
    ("steps", "per_epoch", "evaluations"),
    [(100, 50, 3), (100, 5, 11), (200, 1000, 2)],  # each epoch's end, at most 10, + a rung
)
def test_trial_seconds_counts_steps_and_evaluations(steps, per_epoch, evaluations):
    calibration = Calibration(
        models=1, steps=30, step_seconds=0.01, eval_image_seconds=0.001, device="cpu", seconds=1
    )
    expected = steps * 0.01 + evaluations * 50 * 0.001
    assert calibration.trial_seconds(steps, per_epoch, 50) == pytest.approx(expected)
