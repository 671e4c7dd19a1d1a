"""Multi-objective pruning decisions, from hand-written dominance tables."""

from __future__ import annotations

import pytest

from paretonas.search.pruning import FinishedTrial, PruningRule, dominators, prune_reason

A = FinishedTrial(1, {"params": 1000, "latency_ms": 1.0}, (0.5, 0.8, 0.9))
B = FinishedTrial(2, {"params": 2000, "latency_ms": 0.5}, (0.6, 0.85, 0.95))
C = FinishedTrial(3, {"params": 500, "latency_ms": 2.0}, (0.3, 0.4))
FINISHED = [A, B, C]

# (epoch, f1, costs, margin, expected dominators)
TABLE = [
    (2, 0.3, {"params": 3000, "latency_ms": 3.0}, 0.0, [1, 2, 3]),  # everyone cheaper, ahead
    (2, 0.3, {"params": 3000, "latency_ms": 3.0}, 0.15, [1, 2]),  # margin drops C (0.4)
    (2, 0.5, {"params": 3000, "latency_ms": 3.0}, 0.0, [1, 2]),  # C is behind (0.4)
    (2, 0.81, {"params": 3000, "latency_ms": 3.0}, 0.0, [2]),  # only B is ahead
    (2, 0.5, {"params": 1000, "latency_ms": 1.0}, 0.0, [1]),  # equal costs count as no worse
    (2, 0.3, {"params": 999, "latency_ms": 3.0}, 0.0, [3]),  # A, B cost more params
    (3, 0.5, {"params": 3000, "latency_ms": 3.0}, 0.0, [1, 2]),  # C has no epoch 3
    (1, 0.7, {"params": 3000, "latency_ms": 3.0}, 0.0, []),  # nobody ahead at epoch 1
    (2, 0.3, {}, 0.0, [1, 2, 3]),  # no cost objectives: F1 alone decides
    (2, 0.5, {"macs": 10}, 0.0, []),  # a cost the finished trials lack: not dominated
]


@pytest.mark.parametrize(("epoch", "f1", "costs", "margin", "expected"), TABLE)
def test_dominators(epoch, f1, costs, margin, expected):
    assert dominators(epoch, f1, costs, FINISHED, margin) == expected


@pytest.mark.parametrize(
    ("rule", "epoch", "f1", "pruned"),
    [
        (PruningRule(min_epochs=2, n_startup_trials=3, n_dominators=2, margin=0.0), 2, 0.5, True),
        (PruningRule(min_epochs=3, n_startup_trials=3, n_dominators=2, margin=0.0), 2, 0.5, False),
        (PruningRule(min_epochs=1, n_startup_trials=4, n_dominators=1, margin=0.0), 2, 0.5, False),
        (PruningRule(min_epochs=1, n_startup_trials=3, n_dominators=3, margin=0.0), 2, 0.81, False),
        (PruningRule(min_epochs=1, n_startup_trials=3, n_dominators=1, margin=0.0), 2, 0.81, True),
    ],
)
def test_prune_reason(rule, epoch, f1, pruned):
    reason = prune_reason(rule, epoch, f1, {"params": 3000, "latency_ms": 3.0}, FINISHED)
    assert (reason is not None) is pruned
    if pruned:
        assert f"epoch {epoch}" in reason and "#2" in reason
