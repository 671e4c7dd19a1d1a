"""The worker loop, independent of what a trial does: run trials on ``study`` until it holds
``n_trials`` finished ones (complete, pruned or infeasible), recovering dead workers' trials.

Exact counts: workers decide to start a trial from a count, and several can start one
between the same count and the target. So a new trial first claims its place: trial numbers
are handed out in order by the storage, and a trial goes on only when fewer than
``n_trials`` trials with smaller numbers are finished or running. Otherwise it is a
*surplus* trial: it ends FAIL with reason "surplus" before anything is sampled or trained
(at most workers - 1 of them, at the end of a study), and it counts neither as finished nor
against ``search.max_failures``.

It imports no torch, so load tests can drive it with a trivial objective.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from contextlib import nullcontext

import optuna
from optuna.trial import TrialState

from paretonas.errors import SearchError, Terminated
from paretonas.search import attrs
from paretonas.search.lease import Lease, reclaim_expired, reclaim_heartbeatless

_logger = logging.getLogger(__name__)

Objective = Callable[[optuna.Trial], float | list[float]]


SURPLUS = "surplus"


class SurplusTrial(Exception):
    """This trial would take the study past its target: it stops before it samples."""

    def __init__(self, number: int, message: str) -> None:
        super().__init__(message)
        self.number = number


class _QuietSurplus(logging.Filter):
    """Optuna logs a failed trial twice, once with its traceback; a surplus trial is no
    error: one line says why it stopped. A trial ended by SIGTERM keeps Optuna's lines, less
    the traceback (the loop's own line says it was re-queued)."""

    def __init__(self) -> None:
        super().__init__()
        self.numbers: set[int] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], SurplusTrial):
            surplus = record.exc_info[1]
            self.numbers.add(surplus.number)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "%s", (str(surplus),)
            return True
        if record.exc_info and isinstance(record.exc_info[1], Terminated):
            record.exc_info, record.exc_text = None, None
            return True
        message = record.getMessage()
        return not any(message.startswith(f"Trial {n} failed with value") for n in self.numbers)


TrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


class TerminationGate:
    """SIGTERM while the loop runs (install :meth:`handler`): raise :class:`Terminated` where
    the worker is, once; a later SIGTERM is ignored (``timeout`` signals the process group and
    Snakemake passes its own on: two in a row must not cut the re-queue short). While Optuna
    creates a trial (RUNNING in the storage, not yet handed to the objective, so not yet this
    loop's to end and re-queue) the signal is held, and raised as soon as the objective has
    the trial."""

    def __init__(self) -> None:
        self.holding = False
        self.fired = False
        self.pending: int | None = None

    def handler(self, signum: int, frame: object) -> None:
        if self.fired:
            return
        self.fired = True
        if self.holding:
            self.pending = signum
            return
        raise Terminated(signum)

    def hold(self) -> None:
        self.holding = True

    def release(self) -> None:
        """Stop holding; raise the SIGTERM that came meanwhile, if one did."""
        self.holding = False
        if self.pending is not None:
            signum, self.pending = self.pending, None
            raise Terminated(signum)


def count_outcomes(study: optuna.Study) -> dict[str, int]:
    """``count_states`` with the surplus trials apart: "fail" counts real failures only."""
    counts = count_states(study)
    counts["surplus"] = counts["fail"] - failures(study) if counts["fail"] else 0
    counts["fail"] -= counts["surplus"]
    return counts


def count_states(study: optuna.Study) -> dict[str, int]:
    """Trials per state (lower-case names). The loop asks before every trial, so on an RDB
    storage this is one ``GROUP BY`` on Optuna's ``trials`` table instead of loading every
    trial through the ORM (which cost ~15 ms a trial on SQLite at 200 trials, B4)."""
    counts = {state.name.lower(): 0 for state in TrialState}
    grouped = _count_in_database(study)
    if grouped is not None:
        for name, count in grouped:
            counts[str(name).rsplit(".", 1)[-1].lower()] += count
        return counts
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] += 1
    return counts


_COUNT_SQL = "SELECT state, COUNT(*) FROM trials WHERE study_id = :study GROUP BY state"
_BEFORE_SQL = (
    "SELECT state, COUNT(*) FROM trials WHERE study_id = :study AND number < :number GROUP BY state"
)


def claims_before(study: optuna.Study, number: int) -> int:
    """Trials numbered below ``number`` that are finished (complete, pruned) or running:
    the places taken before this trial's."""
    counts = {state.name.lower(): 0 for state in TrialState}
    grouped = _count_in_database(study, _BEFORE_SQL, number=number)
    if grouped is not None:
        for name, count in grouped:
            counts[str(name).rsplit(".", 1)[-1].lower()] += count
    else:
        for trial in study.get_trials(deepcopy=False):
            if trial.number < number:
                counts[trial.state.name.lower()] += 1
    return counts["complete"] + counts["pruned"] + counts["running"]


def _count_in_database(
    study: optuna.Study, sql: str = _COUNT_SQL, **params: int
) -> list[tuple[str, int]] | None:
    """(state, count) rows straight from an RDB storage, or None (journal, in-memory, or a
    schema this query does not fit: then the caller counts the slow way)."""
    storage = getattr(study._storage, "_backend", study._storage)  # under _CachedStorage
    if not isinstance(storage, optuna.storages.RDBStorage):
        return None
    import sqlalchemy

    try:
        with storage.engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text(sql), {"study": study._study_id, **params})
            return [(state, int(count)) for state, count in rows]
    except sqlalchemy.exc.SQLAlchemyError as exc:
        if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
            raise  # the database went away: the worker's storage-failure path reports it
        _logger.debug("count by SQL failed (%s); counting through Optuna", exc)
        return None


def run_until_done(
    study: optuna.Study,
    objective: Objective,
    n_trials: int,
    *,
    max_failures: int,
    journal: bool,
    heartbeat_interval: int = 10,
    grace_period: int = 30,
    on_trial: TrialCallback | None = None,
    should_stop: Callable[[], str | None] | None = None,
    gate: TerminationGate | None = None,
) -> str:
    """Run trials one at a time until the study is done; return why the loop ended.

    Each trial goes through ``study.optimize(n_trials=1)``, so RDB heartbeats and Optuna's
    stale-trial check run for it. On journal storage a lease stands in for the heartbeat.
    When the remaining trials are all running elsewhere, wait: either they finish, or their
    worker died and its trial is failed and re-queued (then this worker runs it). With a
    ``gate`` installed as the SIGTERM handler, a SIGTERM ends the running trial FAIL, re-queues
    it and returns "terminated".
    """

    current: list[optuna.Trial] = []
    gate = gate or TerminationGate()  # (not installed: holds and releases nothing)

    def run_one(trial: optuna.Trial):
        current[:] = [trial]
        try:
            gate.release()  # a SIGTERM held while Optuna created the trial is raised here
        except Terminated:
            trial.set_user_attr(attrs.FAIL_REASON, "terminated")  # as the objective records it
            raise
        taken = claims_before(study, trial.number)
        if taken >= n_trials:
            trial.set_user_attr(attrs.FAIL_REASON, SURPLUS)
            raise SurplusTrial(
                trial.number,
                f"trial {trial.number}: surplus, stopped before sampling ({taken} trials "
                f"before it are finished or running; the study asks for {n_trials})",
            )
        lease = Lease(study, trial, heartbeat_interval, grace_period) if journal else None
        with lease or nullcontext():
            return objective(trial)

    callbacks = [on_trial] if on_trial else []
    quiet = _QuietSurplus()
    optuna_logger = logging.getLogger("optuna.study._optimize")
    optuna_logger.addFilter(quiet)
    try:
        while True:
            if journal:
                reclaim_expired(study, grace_period)
            counts = count_states(study)
            finished = counts["complete"] + counts["pruned"]
            if finished >= n_trials:
                return "target reached"
            if counts["fail"] > max_failures and failures(study) > max_failures:
                raise SearchError(
                    f"study {study.study_name}: {failures(study)} failed trials > "
                    f"search.max_failures ({max_failures}); see each trial's metrics.json"
                )
            if should_stop is not None and (reason := should_stop()):
                return reason
            if finished + counts["running"] >= n_trials and counts["waiting"] == 0:
                time.sleep(min(2.0, heartbeat_interval))  # others are finishing the rest
                if not journal:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                        optuna.storages.fail_stale_trials(study)
                    reclaim_heartbeatless(study, grace_period)
                continue
            current.clear()
            gate.hold()  # until run_one has the trial Optuna creates
            try:
                study.optimize(
                    run_one,
                    n_trials=1,
                    catch=(Exception,),
                    callbacks=callbacks,
                    gc_after_trial=False,
                )
                gate.release()
            except Terminated:
                if current:
                    requeue_terminated(study, current[0])
                return "terminated"
    finally:
        optuna_logger.removeFilter(quiet)


def failures(study: optuna.Study) -> int:
    """Failed trials that count against ``search.max_failures`` (surplus ones do not)."""
    # reads the failed trials only: called when the cheap count says there are too many
    return sum(
        attrs.get(t, attrs.FAIL_REASON) != SURPLUS
        for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    )


def requeue_terminated(study: optuna.Study, trial: optuna.Trial) -> None:
    """The trial a SIGTERM interrupted: FAIL with reason "terminated", parameters re-queued."""
    storage = study._storage
    trial_id = trial._trial_id
    try:
        storage.set_trial_user_attr(trial_id, attrs.FAIL_REASON, "terminated")
        storage.set_trial_state_values(trial_id, TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        pass  # Optuna already ended it FAIL (the objective recorded the reason)
    study.enqueue_trial(trial.params, user_attrs={attrs.RETRIED_FROM: trial.number})
    _logger.warning("trial %d: terminated; marked FAIL and re-queued", trial.number)
