"""A worker that died between creating a trial and its first heartbeat: Optuna never fails
such a trial, so without ``reclaim_heartbeatless`` the study could never finish."""

from __future__ import annotations

import datetime

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from paretonas.search import attrs
from paretonas.search.lease import reclaim_heartbeatless
from paretonas.search.storage import open_storage, resolve_storage


def running(study: optuna.Study, seconds_ago: float, x: float) -> int:
    """A RUNNING trial started ``seconds_ago``, as a worker leaves it (no heartbeat); its id."""
    template = FrozenTrial(
        number=-1,
        state=TrialState.RUNNING,
        value=None,
        datetime_start=datetime.datetime.now() - datetime.timedelta(seconds=seconds_ago),
        datetime_complete=None,
        params={"x": x},
        distributions={"x": FloatDistribution(0, 1)},
        user_attrs={},
        system_attrs={},
        intermediate_values={},
        trial_id=-1,
    )
    return study._storage.create_new_trial(study._study_id, template_trial=template)


def test_heartbeatless_running_trials_are_failed_and_requeued(tmp_path, monkeypatch):
    monkeypatch.delenv("PARETONAS_STORAGE", raising=False)
    storage = open_storage(resolve_storage("sqlite", tmp_path), heartbeat_interval=1)
    study = optuna.create_study(storage=storage, study_name="s")
    dead = running(study, 60, 0.25)  # its worker died before the first heartbeat
    young = running(study, 0, 0.5)  # just created: its worker may still be starting
    beating = running(study, 60, 0.75)  # Optuna's heartbeat handles this one
    study._storage.record_heartbeat(beating)

    assert reclaim_heartbeatless(study, grace=30) == [0]
    trials = study.get_trials(deepcopy=False)
    by_id = {t._trial_id: t for t in trials}
    assert by_id[dead].state == TrialState.FAIL
    assert attrs.get(by_id[dead], attrs.FAIL_REASON) == "no heartbeat"
    assert by_id[young].state == by_id[beating].state == TrialState.RUNNING
    requeued = [t for t in trials if t.state == TrialState.WAITING]
    assert [attrs.get(t, attrs.RETRIED_FROM) for t in requeued] == [0]
    assert requeued[0].system_attrs["fixed_params"] == {"x": 0.25}
    assert reclaim_heartbeatless(study, grace=30) == []  # nothing twice


def test_journal_storages_are_left_to_leases(tmp_path):
    storage = open_storage(resolve_storage("journal", tmp_path, "PARETONAS_UNSET_FOR_TEST"))
    study = optuna.create_study(storage=storage)
    running(study, 60, 0.25)
    assert reclaim_heartbeatless(study, grace=30) == []
