"""The workers' sampler reads the study once per trial and samples what TPE samples."""

from __future__ import annotations

import optuna
import pytest

from paretonas.search.sampling import OneReadSampler, make_sampler, sampler_seed, trials_at_start


def _objective(trial: optuna.Trial) -> list[float]:
    """A conditional space like the product's: branches with their own parameters."""
    block = trial.suggest_categorical("block", ["conv", "fire", "pass"])
    width = trial.suggest_int(f"{block}/width", 8, 64, step=8)
    if block == "conv":
        trial.suggest_int("conv/kernel", 1, 5, step=2)
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    return [width * lr, width]


def _study(tmp_path, name: str, sampler: optuna.samplers.BaseSampler) -> optuna.Study:
    storage = f"sqlite:///{tmp_path / (name + '.db')}"
    return optuna.create_study(
        directions=["maximize", "minimize"], storage=storage, sampler=sampler
    )


class _CountingReads:
    """Wraps a storage's ``get_all_trials`` and counts the calls."""

    def __init__(self, study: optuna.Study) -> None:
        self.calls = 0
        original = study._storage.get_all_trials

        def counted(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        study._storage.get_all_trials = counted


def _tpe(liar: bool) -> optuna.samplers.TPESampler:
    return optuna.samplers.TPESampler(
        seed=3, multivariate=True, group=True, constant_liar=liar, n_startup_trials=5
    )


@pytest.mark.parametrize("liar", [True, False])
def test_one_read_sampler_samples_what_tpe_samples(tmp_path, liar):
    plain = _study(tmp_path, "plain", _tpe(liar))
    wrapped = _study(tmp_path, "wrapped", OneReadSampler(_tpe(liar)))
    plain.optimize(_objective, n_trials=14)
    wrapped.optimize(_objective, n_trials=14)
    assert [t.params for t in wrapped.trials] == [t.params for t in plain.trials]


def test_one_read_sampler_reads_the_study_once_a_trial(tmp_path):
    plain = _study(tmp_path, "plain", _tpe(True))
    wrapped = _study(tmp_path, "wrapped", OneReadSampler(_tpe(True)))
    for study in (plain, wrapped):
        study.optimize(_objective, n_trials=8)  # past the startup trials
    plain_reads, wrapped_reads = _CountingReads(plain), _CountingReads(wrapped)
    plain.optimize(_objective, n_trials=1)
    wrapped.optimize(_objective, n_trials=1)
    # one read is Optuna's own (ask() looks for a waiting trial), one the sampler's
    assert wrapped_reads.calls == 2
    assert plain_reads.calls >= wrapped_reads.calls + 3  # TPE + liar: a read per group


def test_trials_at_start_is_the_read_the_sampler_made(tmp_path):
    study = _study(tmp_path, "s", OneReadSampler(_tpe(False)))
    study.optimize(_objective, n_trials=3)
    seen = []

    def objective(trial: optuna.Trial) -> list[float]:
        seen.append([t.number for t in trials_at_start(trial)])
        return _objective(trial)

    study.optimize(objective, n_trials=1)
    assert seen == [[0, 1, 2, 3]]  # the three finished ones and this one, running


def test_the_liar_only_runs_beside_other_workers():
    assert make_sampler("tpe", 0, 0, 10, workers=1).base._constant_liar is False
    assert make_sampler("tpe", 0, 0, 10, workers=2).base._constant_liar is True
    assert isinstance(make_sampler("random", 0, 1, 10).base, optuna.samplers.RandomSampler)


@pytest.mark.parametrize("kind", ["tpe", "nsga2", "random"])
@pytest.mark.parametrize("seed", [0, 20261202, 2**70])
def test_any_seed_gives_each_worker_its_own_stream(tmp_path, kind, seed):
    """The schema sets no upper bound on seed; numpy's RandomState under Optuna's samplers
    takes < 2**32, so the per-worker seeds are derived into that range."""
    seeds = {sampler_seed(seed, worker) for worker in range(8)}
    assert len(seeds) == 8 and all(0 <= s < 2**32 for s in seeds)
    assert sampler_seed(seed, 3) == sampler_seed(seed, 3)
    drawn = []
    for worker in (0, 1, 0):
        study = optuna.create_study(
            directions=["maximize", "minimize"], sampler=make_sampler(kind, seed, worker, 2)
        )
        study.optimize(_objective, n_trials=3)
        drawn.append([t.params for t in study.trials])
    assert drawn[0] == drawn[2] and drawn[0] != drawn[1]
