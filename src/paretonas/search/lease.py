"""Leases for journal storage, which has no heartbeat: a worker renews a lease on its
RUNNING trial; any worker that finds an expired lease fails that trial and re-queues its
parameters (what RetryHeartbeatStaleTrialCallback does on RDB storages)."""

from __future__ import annotations

import logging
import threading
import time

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

_logger = logging.getLogger(__name__)
LEASE_ATTR = "paretonas:lease_until"
RETRY_ATTR = "retried_from"


class Lease:
    """Context manager: renew ``trial``'s lease every ``interval`` s while it runs."""

    def __init__(self, study: optuna.Study, trial: optuna.Trial, interval: int, grace: int):
        self.storage = study._storage
        self.trial_id = trial._trial_id
        self.interval, self.grace = interval, grace
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, daemon=True)

    def _renew(self) -> None:
        self.storage.set_trial_system_attr(self.trial_id, LEASE_ATTR, time.time() + self.grace)

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
        until = trial.system_attrs.get(LEASE_ATTR)
        started = trial.datetime_start.timestamp() if trial.datetime_start else now
        if (until is not None and until > now) or (until is None and started + grace > now):
            continue
        try:
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:
            continue  # another worker reclaimed it (or it just finished)
        study.enqueue_trial(trial.params, user_attrs={RETRY_ATTR: trial.number},
                            skip_if_exists=False)  # fmt: skip
        _logger.warning("trial %d: lease expired; marked FAIL and re-queued", trial.number)
        reclaimed.append(trial.number)
    return reclaimed
