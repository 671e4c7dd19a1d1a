"""MO-ASHA decisions, from hand-written rung tables."""

from __future__ import annotations

import pytest

from paretonas.search import attrs
from paretonas.search.pruning import (
    RungEntry,
    SuccessiveHalving,
    decide,
    f1_standard_error,
    rung_entries,
)

RULE = SuccessiveHalving(eta=3, rungs=2, n_startup_trials=3, f1_noise=0.0)


def entry(number: int, f1: float, params: float, se: float = 0.0) -> RungEntry:
    return RungEntry(number, f1, se, {"params": params})


# others at the rung: a cheap weak model, a costly strong one, and middling ones
OTHERS = [
    entry(1, 0.30, 100),
    entry(2, 0.90, 5000),
    entry(3, 0.60, 1000),
    entry(4, 0.50, 2000),
    entry(5, 0.55, 3000),
]


@pytest.mark.parametrize(
    ("me", "pruned"),
    [
        (entry(0, 0.95, 6000), False),  # the best F1: front
        # the cheapest is on the front (nobody is cheaper), but the front (me, #1, #2, #3)
        # straddles the cut at 2: #2 (best F1) stays, and of the rest #3 keeps the most
        # hypervolume; a cheap model this weak adds almost none
        (entry(0, 0.20, 50), True),
        (entry(0, 0.40, 4000), True),  # 3 dominate it (#3, #4, #5): 6 at the rung keep 2
        (entry(0, 0.65, 1000), False),  # dominates #3: front
        (entry(0, 0.58, 1500), True),  # layer 2: the front (#1, #2, #3) fills the 2 kept
        (entry(0, 0.45, 2500), True),  # layer 3
    ],
)
def test_top_third_by_non_dominated_sorting(me, pruned):
    reason = decide(RULE, 1, me, OTHERS)
    assert (reason is not None) is pruned
    if pruned:
        assert reason.startswith("rung 1: layer") and "the top 2 = 1/3 go on" in reason


def test_the_layer_at_the_cut_keeps_its_best_f1_then_the_most_hypervolume():
    rule = SuccessiveHalving(eta=2, n_startup_trials=3, f1_noise=0.0)  # 4 at the rung keep 2
    front = [entry(1, 0.30, 100), entry(2, 0.90, 5000), entry(3, 0.80, 1000)]
    assert decide(rule, 0, entry(0, 0.95, 6000), front) is None  # best F1 stays at any cost
    assert decide(rule, 0, entry(0, 0.85, 900), front) is None  # cheap and accurate
    reason = decide(rule, 0, entry(0, 0.31, 90), front)
    assert reason is not None and "inside this layer" in reason  # a near-duplicate of #1
    # with room for the whole front, nobody on it is pruned
    roomy = SuccessiveHalving(eta=1, n_startup_trials=3, f1_noise=0.0)
    assert decide(roomy, 0, entry(0, 0.31, 90), front) is None


def test_a_later_layer_goes_on_while_the_kept_share_is_not_full():
    others = [entry(1, 0.9, 100), entry(2, 0.5, 200), entry(3, 0.4, 300), entry(4, 0.3, 400)]
    rule = SuccessiveHalving(eta=2, n_startup_trials=3, f1_noise=0.0)  # 5 at the rung keep 3
    assert decide(rule, 0, entry(0, 0.6, 150), others) is None  # layer 2, 1 ahead
    assert decide(rule, 0, entry(0, 0.45, 250), others) is None  # layer 3, 2 ahead
    assert decide(rule, 0, entry(0, 0.35, 350), others) is not None  # layer 4, 3 ahead


def test_noise_makes_a_tie_and_the_cheaper_wins():
    others = [entry(1, 0.70, 1000, se=0.05), entry(2, 0.72, 3000, se=0.05)]
    rule = SuccessiveHalving(eta=2, n_startup_trials=3, f1_noise=1.0)
    # 0.74 beats #2 by 0.02, within the noise: a tie on F1, so #1 (cheaper) dominates it and
    # #2 (cheaper too) as well: two ahead of it, and 3 trials keep 2
    assert decide(rule, 0, entry(0, 0.74, 4000, se=0.05), others) is not None
    plain = SuccessiveHalving(eta=2, n_startup_trials=3, f1_noise=0.0)
    assert decide(plain, 0, entry(0, 0.74, 4000, se=0.05), others) is None  # best F1


def test_no_decision_before_enough_trials_reach_the_rung():
    rule = SuccessiveHalving(eta=3, n_startup_trials=7, f1_noise=0.0)
    assert decide(rule, 0, entry(0, 0.0, 10**6), OTHERS) is None  # 6 < 7
    assert decide(RULE, 0, entry(0, 0.0, 10**6), OTHERS) is not None


def test_trials_lacking_a_cost_are_left_out():
    others = [RungEntry(1, 0.9, 0.0, {"macs": 1.0})] * 5
    assert decide(RULE, 0, entry(0, 0.1, 10**6), others) is None  # alone at the rung


@pytest.mark.parametrize(
    ("budget", "eta", "rungs", "expected"),
    [
        (900, 3, 2, [100, 300]),
        (400, 3, 2, [44, 133]),
        (400, 2, 3, [50, 100, 200]),
        (8, 3, 2, [1, 3]),
        (4, 3, 2, [1]),  # 4 / 9 rounds to 0: no rung there
        (1, 3, 2, []),
    ],
)
def test_rungs_sit_at_fractions_of_the_budget_never_at_its_end(budget, eta, rungs, expected):
    assert SuccessiveHalving(eta=eta, rungs=rungs).rung_steps(budget) == expected


def test_rung_entries_read_the_rung_attribute():
    class Trial:
        def __init__(self, number, user_attrs):
            self.number, self.user_attrs = number, user_attrs

    standing = {"costs": {"params": 10, "macs": 5}, "0": {"step": 3, "f1": 0.5, "se": 0.1}}
    trials = [
        Trial(0, {attrs.RUNGS: standing}),
        Trial(1, {attrs.RUNGS: {"costs": {"params": 1}, "1": {"step": 9, "f1": 0.9, "se": 0}}}),
        Trial(2, {}),
    ]
    assert rung_entries(trials, 0, ["params"]) == [RungEntry(0, 0.5, 0.1, {"params": 10.0})]
    assert rung_entries(trials, 1, ["params"]) == [RungEntry(1, 0.9, 0.0, {"params": 1.0})]
    assert rung_entries(trials, 1, ["macs"]) == []


def test_rung_standard_error_shrinks_with_the_split():
    assert f1_standard_error(0.8, 400) < f1_standard_error(0.8, 100)
    assert f1_standard_error(1.0, 100) > 0  # a perfect score still carries noise
