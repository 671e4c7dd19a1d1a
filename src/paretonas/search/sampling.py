"""The workers' sampler: Optuna's TPE (or NSGA-II, random) reading the study once per trial.

Optuna's TPE with ``constant_liar`` reads every trial of the study from the storage for each
parameter group it samples (``use_cache = not constant_liar``): with the default space's ~20
groups that was ~28 full reads a trial, ~60% of the per-trial overhead on SQLite (B4).
``OneReadSampler`` hands the wrapped sampler a study whose trial list is read once, when the
trial starts (``before_trial``), which is what TPE sees without the liar anyway. The same
list serves the objective's duplicate lookup (``snapshot``).

The liar itself only helps when another worker has a trial running: ``make_sampler`` turns it
on for more than one worker (it costs a system-attribute write a trial).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Container, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

SAMPLERS = ("tpe", "nsga2", "random")


class _SnapshotStudy:
    """``study`` with its trial list frozen at one read (everything else is the study's)."""

    def __init__(self, study: optuna.Study, trials: list[FrozenTrial]) -> None:
        self._study = study
        self._trials = trials

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def _get_trials(
        self,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
        use_cache: bool = False,
    ) -> list[FrozenTrial]:
        trials = self._trials
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials

    def get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        return self._get_trials(deepcopy, states)


class OneReadSampler(BaseSampler):
    """``base`` with one read of the study per trial; ``snapshot`` is that read."""

    def __init__(self, base: BaseSampler) -> None:
        self.base = base
        self._view: _SnapshotStudy | None = None

    def __str__(self) -> str:
        return f"OneRead({self.base})"

    @property
    def snapshot(self) -> list[FrozenTrial]:
        """Every trial of the study as read when the current trial started (empty before)."""
        return self._view._trials if self._view is not None else []

    def _study(self, study: optuna.Study) -> Any:
        if self._view is None or self._view._study is not study:
            return study  # outside a trial (or another study): read as Optuna would
        return self._view

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
        self._view = _SnapshotStudy(study, trials)
        self.base.before_trial(self._view, trial)  # type: ignore[arg-type]

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self.base.infer_relative_search_space(self._study(study), trial)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self.base.sample_relative(self._study(study), trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self.base.sample_independent(
            self._study(study), trial, param_name, param_distribution
        )

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self.base.after_trial(study, trial, state, values)
        self._view = None

    def reseed_rng(self) -> None:
        self.base.reseed_rng()


def sampler_seed(seed: int, worker_id: int) -> int:
    """Worker ``worker_id``'s sampler seed from the master ``seed``: a 32-bit number (numpy's
    ``RandomState``, under Optuna's samplers, takes nothing larger), one stream per worker
    whatever the size of ``seed``."""
    return int(np.random.SeedSequence([seed, worker_id]).generate_state(1)[0])


def make_sampler(
    kind: str, seed: int, worker_id: int, n_startup_trials: int, workers: int = 1
) -> OneReadSampler:
    """The sampler of worker ``worker_id`` of ``workers``: its own reproducible stream."""
    seed = sampler_seed(seed, worker_id)
    if kind == "random":
        return OneReadSampler(optuna.samplers.RandomSampler(seed=seed))
    if kind == "nsga2":
        return OneReadSampler(optuna.samplers.NSGAIISampler(seed=seed))
    with warnings.catch_warnings():  # multivariate/group are "experimental" in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return OneReadSampler(
            optuna.samplers.TPESampler(
                seed=seed,
                multivariate=True,
                group=True,  # conditional (per-module) parameters are modelled per branch
                # other workers' running trials count as bad, so they don't all sample next
                # to one; with one worker there is none, and the liar is a write a trial
                constant_liar=workers > 1,
                n_startup_trials=n_startup_trials,
            )
        )


def trials_at_start(trial: optuna.Trial) -> list[FrozenTrial]:
    """The study's trials as read when ``trial`` started (no new read under
    ``OneReadSampler``; other samplers read the study now)."""
    sampler = trial.study.sampler
    if isinstance(sampler, OneReadSampler) and sampler._view is not None:
        return sampler.snapshot
    return trial.study.get_trials(deepcopy=False)
