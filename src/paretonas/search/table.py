"""Every trial of a study as one pandas DataFrame: Optuna's ``study.trials_dataframe()`` (the
course's table: number, ``values_<objective>``, start, end, ``params_<name>``, state) joined
with what the search records about each trial (``search.attrs``): its outcome and why, the
worker that ran it, its F1's standard error, its costs, and where it is archived.

The search stage's snapshot writes it as ``trials.csv``; ``paretonas status`` reads a live
study through it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial

from paretonas.search import attrs
from paretonas.tables import write_csv

_logger = logging.getLogger(__name__)

# what Optuna's table contributes (user_attrs/system_attrs are nested records: ours are below)
OPTUNA_COLUMNS = (
    "number",
    "values",
    "datetime_start",
    "datetime_complete",
    "duration",
    "params",
    "state",
)
INTEGER_COLUMNS = ("worker", "reused_from", "retried_from")
READ_ATTEMPTS = 5  # a live study can change between Optuna's read and ours: read again


def read_trials(
    study: optuna.Study, trials_dir: str | os.PathLike | None = None
) -> tuple[pd.DataFrame, dict[int, FrozenTrial]]:
    """The table (see ``trials_frame``) and the trials it was made of, by number: one
    consistent read, even of a study that workers are writing."""
    for _ in range(READ_ATTEMPTS):
        optuna_frame = study.trials_dataframe(attrs=OPTUNA_COLUMNS)
        trials = {t.number: t for t in study.get_trials(deepcopy=False)}
        if _same_states(optuna_frame, trials):
            break
        _logger.debug("study %s changed while read; reading again", study.study_name)
    numbers = [] if optuna_frame.empty else [int(n) for n in optuna_frame["number"]]
    trials = {n: trials[n] for n in numbers}  # trials that started after Optuna's read: next time
    names = study.metric_names or range(len(study.directions))
    values = [f"values_{name}" for name in names]  # a column per objective, even with no trials
    frame = _join(optuna_frame, [trials[n] for n in numbers], values, trials_dir)
    return frame, trials


def trials_frame(study: optuna.Study, trials_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per trial, by number. Columns: ``number``, ``state`` (Optuna's), ``outcome``
    (``attrs.OUTCOMES``: infeasible apart from complete) and ``reason`` (why it was pruned,
    failed or refused), ``values_<objective>``, ``f1_se``, ``costs_<name>`` (known before
    training; ``costs_latency_ms`` is the search's estimate), ``datetime_start``,
    ``datetime_complete``, ``duration_s``, ``train_seconds``, ``worker``, ``reused_from``,
    ``retried_from``, ``archive`` (under ``trials_dir`` when given, else where the worker
    wrote it), then the hyperparameters, ``params_<name>``."""
    return read_trials(study, trials_dir)[0]


def write_trials_csv(
    study: optuna.Study, path: str | os.PathLike, trials_dir: str | os.PathLike | None = None
) -> pd.DataFrame:
    """``trials_frame`` as CSV at ``path`` (atomically); returns the table."""
    frame = trials_frame(study, trials_dir)
    write_csv(frame, path)
    _logger.info("%d trials -> %s", len(frame), path)
    return frame


def _same_states(frame: pd.DataFrame, trials: dict[int, FrozenTrial]) -> bool:
    if frame.empty:
        return True
    return all(
        number in trials and trials[number].state.name == state
        for number, state in zip(frame["number"], frame["state"], strict=True)
    )


def _join(
    optuna_frame: pd.DataFrame,
    trials: list[FrozenTrial],
    values: list[str],
    trials_dir: str | os.PathLike | None,
) -> pd.DataFrame:
    ours = pd.DataFrame([_record(t, trials_dir) for t in trials], columns=_OUR_COLUMNS)
    costs = pd.DataFrame([_costs(t) for t in trials], index=ours.index)
    if optuna_frame.empty:
        optuna_frame = pd.DataFrame({"number": pd.Series(dtype="int64"), "state": []})
    optuna_frame = optuna_frame.reset_index(drop=True)
    for column in values:
        if column not in optuna_frame:
            optuna_frame[column] = pd.Series(np.nan, index=optuna_frame.index, dtype="float64")
    params = [c for c in optuna_frame.columns if c.startswith("params_")]
    duration = pd.to_timedelta(_column(optuna_frame, "duration")).dt.total_seconds()
    when = {
        c: pd.to_datetime(_column(optuna_frame, c)) for c in ("datetime_start", "datetime_complete")
    }
    frame = pd.concat(
        [
            optuna_frame[["number", "state"]],
            ours[["outcome", "reason"]],
            optuna_frame[values],
            ours[["f1_se"]],
            costs.add_prefix("costs_"),
            pd.DataFrame(when, index=ours.index),
            pd.DataFrame({"duration_s": duration}, index=ours.index),
            ours[["train_seconds", *INTEGER_COLUMNS, "archive"]],
            optuna_frame[params],
        ],
        axis=1,
    )
    return frame.astype({c: "Int64" for c in INTEGER_COLUMNS})


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]``, or as many missing values (Optuna leaves out a column no trial has)."""
    if name in frame:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


_OUR_COLUMNS = ["outcome", "reason", "f1_se", "train_seconds", *INTEGER_COLUMNS, "archive"]


def _record(trial: FrozenTrial, trials_dir: str | os.PathLike | None) -> dict:
    if trials_dir is not None:
        directory = Path(trials_dir) / str(trial.number)
        archive = str(directory) if directory.is_dir() else ""
    else:
        archive = str(attrs.get(trial, attrs.ARCHIVE) or "")
    return {
        "outcome": attrs.outcome(trial),
        "reason": attrs.reason(trial),
        "f1_se": attrs.get(trial, attrs.F1_SE),
        "train_seconds": attrs.get(trial, attrs.TRAIN_SECONDS),
        "worker": attrs.get(trial, attrs.WORKER),
        "reused_from": attrs.get(trial, attrs.REUSED_FROM),
        "retried_from": attrs.get(trial, attrs.RETRIED_FROM),
        "archive": archive,
    }


def _costs(trial: FrozenTrial) -> dict:
    costs = attrs.get(trial, attrs.COSTS)
    return dict(costs) if isinstance(costs, dict) else {}


__all__ = ["read_trials", "trials_frame", "write_trials_csv"]
