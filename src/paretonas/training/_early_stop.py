"""Early stopping for a retraining: stop once validation F1 has not improved for a while.

``fit`` already keeps the best evaluation's weights; this only ends the run sooner, so a
budget sized generously for a small split costs what the split needs.
"""

from __future__ import annotations

import math

from paretonas.training._loop import EpochRecord

PATIENCE_MIN = 15  # evaluations without a better val F1 before stopping, at least
PATIENCE_FRACTION = 1 / 3  # ... or this share of the run's evaluations, when more


def patience_for(evaluations: int) -> int:
    """Evaluations without improvement after which a run of ``evaluations`` stops."""
    return max(PATIENCE_MIN, math.ceil(PATIENCE_FRACTION * evaluations))


class EarlyStop:
    """An ``on_eval`` callback for ``fit``: a reason to stop once ``patience`` evaluations in
    a row brought no higher val F1 than the best so far; None until then."""

    def __init__(self, patience: int) -> None:
        if patience < 1:
            raise ValueError(f"patience: {patience} must be >= 1")
        self.patience = patience
        self.best = -math.inf
        self.since_best = 0

    def __call__(self, record: EpochRecord) -> str | None:
        if record.val_f1 > self.best:
            self.best, self.since_best = record.val_f1, 0
            return None
        self.since_best += 1
        if self.since_best >= self.patience:
            return (
                f"early stop: val F1 not above {self.best:.4f} in {self.patience} evaluations "
                f"(step {record.step})"
            )
        return None
