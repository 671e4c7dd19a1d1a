"""A study with every outcome a trial can have, at known times and with known workers, so
that tables and status figures can be checked exactly."""

from __future__ import annotations

import datetime
from pathlib import Path

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from paretonas.search import attrs

NOW = datetime.datetime(2026, 12, 2, 12, 0, 0)
LR = FloatDistribution(1e-4, 1e-1, log=True)


def minutes(m: float) -> datetime.datetime:
    return NOW + datetime.timedelta(minutes=m)


# number: state, values (f1, params), start and end (minutes from NOW), worker, record keys
MADE = [
    (TrialState.COMPLETE, (0.90, 5000), -20, -16, 0, {}),
    (TrialState.COMPLETE, (0.80, 1000), -16, -12, 1, {}),
    (TrialState.PRUNED, None, -12, -8, 0, {attrs.PRUNE_REASON: "rung 1: layer 2 of 3"}),
    (TrialState.FAIL, None, -8, -6, 1, {attrs.FAIL_REASON: "RuntimeError: out of memory"}),
    (TrialState.COMPLETE, (0.0, 90000), -6, -6, 0, {attrs.INFEASIBLE: "params 90000 > 50000"}),
    (TrialState.COMPLETE, (0.85, 3000), -6, -4, 1, {}),
    (TrialState.COMPLETE, (0.70, 4000), -4, -2, 0, {}),  # dominated by trial 5
    # the configuration of trial 0 again: its values reused (not a candidate of its own)
    (TrialState.COMPLETE, (0.90, 5000), -2, -2, 1, {attrs.REUSED_FROM: 0, attrs.CONFIG_HASH: "h0"}),
    (TrialState.RUNNING, None, -1, None, 0, {}),
]


def make_study(path: Path) -> Path:
    """MADE as a SQLite file holding one study, ``made`` (what a snapshot holds)."""
    study = optuna.create_study(
        study_name="made", storage=f"sqlite:///{path}", directions=["maximize", "minimize"]
    )
    study.set_metric_names(["f1", "params"])
    for number, (state, values, begin, end, worker, extra) in enumerate(MADE):
        record = {
            attrs.WORKER: worker,
            attrs.CONFIG_HASH: f"h{number}",
            attrs.F1_SE: 0.02 + number / 1000,
            attrs.ARCHIVE: f"trials/{number}",
            **extra,
        }
        if values is not None:
            record[attrs.COSTS] = {"params": values[1], "macs": 10 * values[1]}
            record[attrs.TRAIN_SECONDS] = 1.5 * number
        study.add_trial(
            FrozenTrial(
                number=number,
                state=state,
                value=None,
                values=values,
                datetime_start=minutes(begin),
                datetime_complete=None if end is None else minutes(end),
                params={"lr": 0.01 * (number + 1)},
                distributions={"lr": LR},
                user_attrs={attrs.RECORD: record},
                system_attrs={},
                intermediate_values={},
                trial_id=number,
            )
        )
    return path
