"""Recovering a dead worker's trial where Optuna does not.

- Journal storage has no heartbeat: a worker renews a lease on its RUNNING trial; any worker
  that finds an expired lease fails that trial and re-queues its parameters (what
  RetryHeartbeatStaleTrialCallback does on RDB storages).
- On RDB storages Optuna never fails a RUNNING trial that has no heartbeat at all, so a worker
  that dies between creating a trial and its first heartbeat (a server stopped at that moment,
  a kill) leaves it RUNNING forever and the study can never finish: ``reclaim_heartbeatless``
  fails and re-queues such a trial once it is ``grace`` seconds old.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from paretonas.search import attrs

_logger = logging.getLogger(__name__)


class Lease:
    """Context manager: renew ``trial``'s lease every ``interval`` s while it runs."""

    def __init__(self, study: optuna.Study, trial: optuna.Trial, interval: int, grace: int):
        self.storage = study._storage
        self.trial_id = trial._trial_id
        self.interval, self.grace = interval, grace
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, daemon=True)

    def _renew(self) -> None:
        self.storage.set_trial_system_attr(
            self.trial_id, attrs.LEASE_UNTIL, time.time() + self.grace
        )

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._renew()
            except Exception as exc:
                _logger.warning("lease renewal failed: %s", exc)

    def __enter__(self) -> Lease:
        self._renew()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def reclaim_expired(study: optuna.Study, grace: int) -> list[int]:
    """Fail every RUNNING trial whose lease expired (or that never took one within
    ``grace`` s of starting) and re-queue its parameters. Returns the failed numbers."""
    now = time.time()
    storage = study._storage
    reclaimed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        until = trial.system_attrs.get(attrs.LEASE_UNTIL)
        started = trial.datetime_start.timestamp() if trial.datetime_start else now
        if (until is not None and until > now) or (until is None and started + grace > now):
            continue
        try:
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:
            continue  # another worker reclaimed it (or it just finished)
        study.enqueue_trial(
            trial.params, user_attrs={attrs.RETRIED_FROM: trial.number}, skip_if_exists=False
        )
        _logger.warning("trial %d: lease expired; marked FAIL and re-queued", trial.number)
        reclaimed.append(trial.number)
    return reclaimed


_HEARTBEATS_SQL = (
    "SELECT h.trial_id FROM trial_heartbeats h JOIN trials t ON t.trial_id = h.trial_id "
    "WHERE t.study_id = :study"
)


def reclaim_heartbeatless(study: optuna.Study, grace: int) -> list[int]:
    """Fail every RUNNING trial of an RDB study that never recorded a heartbeat and started
    over ``grace`` s ago, and re-queue its parameters. Returns the failed numbers."""
    import sqlalchemy

    storage = getattr(study._storage, "_backend", study._storage)  # under _CachedStorage
    if not isinstance(storage, optuna.storages.RDBStorage):
        return []
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return []
    with storage.engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text(_HEARTBEATS_SQL), {"study": study._study_id})
        beating = {int(row[0]) for row in rows}
    cutoff = datetime.datetime.now() - datetime.timedelta(seconds=grace)  # Optuna's clock
    reclaimed = []
    for trial in running:
        if trial._trial_id in beating or trial.datetime_start is None:
            continue
        if trial.datetime_start > cutoff:
            continue
        try:
            storage.set_trial_user_attr(trial._trial_id, attrs.FAIL_REASON, "no heartbeat")
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:
            continue  # it finished, or another worker reclaimed it
        study.enqueue_trial(trial.params, user_attrs={attrs.RETRIED_FROM: trial.number})
        _logger.warning(
            "trial %d: RUNNING with no heartbeat for %ds; failed and re-queued", trial.number, grace
        )
        reclaimed.append(trial.number)
    return reclaimed
