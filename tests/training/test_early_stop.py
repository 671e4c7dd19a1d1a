"""Early stopping for a retraining: it stops after ``patience`` evaluations without a better
val F1, never sooner, and the patience follows the run's length."""

from __future__ import annotations

import pytest

from paretonas.training import EarlyStop, EpochRecord, patience_for


def record(step: int, f1: float) -> EpochRecord:
    return EpochRecord(
        epoch=step,
        train_loss=1.0,
        val_loss=1.0,
        val_accuracy=f1,
        val_f1=f1,
        lr=0.1,
        seconds=0.1,
        step=step,
    )


def test_stops_after_patience_evaluations_without_a_better_f1():
    stop = EarlyStop(3)
    curve = [0.5, 0.6, 0.6, 0.59, 0.61, 0.6, 0.6, 0.61, 0.7]
    reasons = [stop(record(i + 1, f1)) for i, f1 in enumerate(curve)]
    # 0.61 at step 5 resets the count; steps 6, 7 and 8 (a tie is no improvement) end it
    assert reasons[:7] == [None] * 7
    assert reasons[7] == "early stop: val F1 not above 0.6100 in 3 evaluations (step 8)"


@pytest.mark.parametrize(("evaluations", "patience"), [(1, 15), (30, 15), (108, 36), (300, 100)])
def test_patience_is_a_third_of_the_run_and_at_least_fifteen(evaluations, patience):
    assert patience_for(evaluations) == patience


def test_patience_below_one_is_refused():
    with pytest.raises(ValueError, match="patience: 0 must be >= 1"):
        EarlyStop(0)
