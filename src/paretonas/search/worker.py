"""A search worker: runs trials on the shared study until it holds ``n_trials`` finished
trials. Many workers (processes, SLURM jobs) run this at once on one study.

Crash recovery: on SQLite/PostgreSQL Optuna's heartbeat marks a dead worker's RUNNING
trial FAIL and ``RetryHeartbeatStaleTrialCallback`` re-queues its parameters. Optuna's
journal storage has no heartbeat, so workers hold a lease on their running trial instead
(``lease.py``): a trial whose lease expired is failed and re-queued by whoever sees it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import torch

from paretonas.chance import learned_nothing, nothing_learned_message
from paretonas.data import MANIFEST, load_manifest, load_split
from paretonas.errors import SearchError, redact
from paretonas.objectives import parse_objectives
from paretonas.search import attrs
from paretonas.search.loop import (
    TerminationGate,
    count_outcomes,
    count_states,
    run_until_done,
)
from paretonas.search.objective import SearchData, TrialContext, objective
from paretonas.search.progress import per_minute, progress_line
from paretonas.search.pruning import SuccessiveHalving, single_objective_pruner
from paretonas.search.sampling import make_sampler
from paretonas.search.space import DataShape, SearchSpace, load_space
from paretonas.search.study import (
    Heartbeat,
    StudyRecord,
    create_study,
    identity_payload,
    new_record,
    read_record,
    write_record,
)
from paretonas.training import Augment, Split
from paretonas.yamlio import atomic_write_text

_logger = logging.getLogger(__name__)

# Exit statuses when the study is not done: a re-run continues where this worker stopped.
EXIT_TERMINATED = 143  # SIGTERM (128 + 15), as a shell reports it
EXIT_WALLTIME = 75  # EX_TEMPFAIL: out of walltime budget, try again


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker runs (not what the study is: that is in ``study.json``)."""

    n_trials: int
    workers: int = 1  # how many run at once (the sampler's liar only helps beside others)
    threads_per_worker: int = 1  # torch threads of this worker
    sampler: str = "tpe"
    n_startup_trials: int = 10
    max_failures: int = 10
    heartbeat_interval: int = 10
    grace_period: int = 30
    walltime_s: float | None = None
    device: str = "auto"
    pruning: dict[str, Any] = field(default_factory=lambda: {"mode": "off"})

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WorkerOptions:
        """From a validated workflow config (``search`` and ``pruning``)."""
        search = config["search"]
        keys = (
            "n_trials",
            "workers",
            "threads_per_worker",
            "sampler",
            "n_startup_trials",
            "max_failures",
            "heartbeat_interval",
            "grace_period",
            "walltime_s",
            "device",
        )
        return cls(**{key: search[key] for key in keys}, pruning=dict(config["pruning"]))


@dataclass(frozen=True)
class WalltimeBudget:
    """When this worker must stop: SLURM's job end time, or a configured budget in seconds."""

    deadline: float | None

    @classmethod
    def from_env(cls, budget_s: float | None, started: float) -> WalltimeBudget:
        end = os.environ.get("SLURM_JOB_END_TIME", "").strip()
        deadlines = [float(end)] if end.isdigit() else []
        if budget_s:
            deadlines.append(started + budget_s)
        return cls(min(deadlines) if deadlines else None)

    def exhausted(self, ran: list[dict[str, Any]]) -> str | None:
        """A reason to take no new trial: less time left than a typical trial takes."""
        if self.deadline is None or not ran:
            return None
        typical = statistics.median(t["seconds"] for t in ran)
        left = self.deadline - time.time()
        if left < typical:
            return f"walltime: {left:.0f}s left < typical trial {typical:.0f}s"
        return None


def start_study(
    study_json: str | os.PathLike,
    space: str | os.PathLike,
    data_dir: str | os.PathLike,
    *,
    objectives: list[dict[str, Any]],
    constraints: dict[str, float | None],
    seed: int,
    storage: str = "sqlite",
    storage_env: str | None = None,
) -> StudyRecord:
    """The search stage's first step: name the study of this space, data, objectives,
    constraints and seed; create it (once, before the workers race); write ``study_json`` and
    a copy inside the study directory. A space whose ``img_size`` the prepared images cannot
    serve stops here, before any trial."""
    searched = load_space(space)  # first: a malformed space needs no data to be refused
    manifest = load_manifest(data_dir)
    searched.check_data(
        DataShape(tuple(manifest["input_shape"]), manifest["num_classes"]),
        str(Path(data_dir) / MANIFEST),
    )
    payload = identity_payload(
        searched.raw, manifest, parse_objectives(objectives), dict(constraints), seed
    )
    record = new_record(study_json, payload, storage, storage_env)
    study = create_study(record)
    data = {
        "num_classes": manifest["num_classes"],
        "search_val_per_class": manifest["counts"]["search/val"]["per_class"],
    }
    if study.user_attrs.get(attrs.DATA) != data:  # what select's chance level is made of
        study.set_user_attr(attrs.DATA, data)
    write_record(record, record.directory / "study.json")
    write_record(record, study_json)
    _logger.info(
        "study %s (storage %s) holds %d trials",
        record.name,
        record.storage.redacted,
        len(study.trials),
    )
    return record


def open_worker_study(record: StudyRecord, options: WorkerOptions, worker_id: int) -> optuna.Study:
    """The study with this worker's sampler, pruner and heartbeat."""
    pruning = options.pruning
    pruner = (
        single_objective_pruner(pruning["single_objective_pruner"])
        if len(record.objectives) == 1 and pruning.get("mode", "off") != "off"
        else optuna.pruners.NopPruner()
    )
    sampler = make_sampler(
        options.sampler,
        record.payload["seed"],
        worker_id,
        options.n_startup_trials,
        options.workers,
    )
    heartbeat = Heartbeat(options.heartbeat_interval, options.grace_period)
    return create_study(record, sampler=sampler, pruner=pruner, heartbeat=heartbeat)


def search_data(data_dir: str | Path) -> SearchData:
    manifest = load_manifest(data_dir)
    train, val = (Split(*load_split(data_dir, f"search/{s}")) for s in ("train", "val"))
    return SearchData(
        train=train,
        val=val,
        mean=manifest["normalization"]["mean"],
        std=manifest["normalization"]["std"],
        augment=Augment.from_dict(manifest["augment"], "data.augment"),
        shape=DataShape(tuple(manifest["input_shape"]), manifest["num_classes"]),
    )


def run_search_worker(
    study_json: str | os.PathLike,
    data_dir: str | os.PathLike,
    worker_id: int,
    options: WorkerOptions,
    report: str | os.PathLike | None = None,
) -> int:
    """Run trials until the study is done; write this worker's report (inside the study
    directory always, at ``report`` only when the study is done). Returns the exit status:
    0, ``EXIT_TERMINATED`` (SIGTERM) or ``EXIT_WALLTIME``; either of the last two means a
    re-run continues."""
    record = read_record(study_json)
    result = run_worker(record, data_dir, worker_id, options)
    text = json.dumps(result, indent=2, sort_keys=True) + "\n"
    atomic_write_text(record.directory / "workers" / f"{worker_id}.json", text)
    if result["ended"] != "target reached":
        _logger.warning(
            "worker %d stopped before the study was done (%s); re-run to continue",
            worker_id,
            result["ended"],
        )
        return EXIT_TERMINATED if result["ended"] == "terminated" else EXIT_WALLTIME
    if report is not None:
        atomic_write_text(report, text)
    _logger.info("worker %d done: %s in %.1fs", worker_id, result["states"], result["wall_seconds"])
    return 0


def run_worker(
    record: StudyRecord, data_dir: str | os.PathLike, worker_id: int, options: WorkerOptions
) -> dict[str, Any]:
    """Run trials until the study is done; return this worker's report. A storage that
    goes away (a stopped server) is a SearchError naming it (password redacted)."""
    try:
        return _run_worker(record, data_dir, worker_id, options)
    except Exception as exc:
        cause = _storage_failure(exc)
        if cause is None:
            raise
        reason = str(getattr(cause, "orig", None) or cause).strip().splitlines()[0]
        raise SearchError(
            f"storage {record.storage.redacted}: {type(cause).__name__}: {redact(reason)}; "
            f"finished trials are kept: re-run when the storage is back"
        ) from None


def _storage_failure(exc: BaseException) -> BaseException | None:
    """The database error in ``exc``'s chain, if any. Optuna wraps them (StorageInternalError)
    and may raise a secondary error while handling one, so the whole chain is searched."""
    import sqlalchemy.exc

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
            return exc
        if isinstance(exc, optuna.exceptions.StorageInternalError):
            return _storage_failure(exc.__cause__ or exc.__context__) or exc  # type: ignore[arg-type]
        exc = exc.__cause__ or exc.__context__
    return None


def _run_worker(
    record: StudyRecord, data_dir: str | os.PathLike, worker_id: int, options: WorkerOptions
) -> dict[str, Any]:
    torch.set_num_threads(options.threads_per_worker)  # workers x threads <= cores: more
    # (oversubscription) was ~30x slower
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # we log one line per trial ourselves
    started = time.time()
    study = open_worker_study(record, options, worker_id)
    pruning = options.pruning
    ctx = TrialContext(
        space=SearchSpace(record.payload["space"], f"{record.name} (study.json: space)"),
        data=search_data(data_dir),
        study_dir=record.directory,
        objectives=record.objectives,
        constraints=record.payload["constraints"],
        seed=record.payload["seed"],
        worker_id=worker_id,
        pruning=(
            SuccessiveHalving.from_config(pruning) if pruning.get("mode", "off") != "off" else None
        ),
        device=options.device,
    )
    ran: list[dict[str, Any]] = []
    advised: list[bool] = []
    names = [o.name for o in record.objectives]
    since, done_before = time.time(), _done(count_states(study))

    def log_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        seconds = trial.duration.total_seconds() if trial.duration else 0.0
        state = attrs.outcome(trial)
        values = dict(zip(names, trial.values or [], strict=False))
        shown = ", ".join(f"{k}={v:.4g}" for k, v in values.items()) or "-"
        _logger.info(
            "trial %d %s %s %.1fs %s", trial.number, state, shown, seconds, attrs.reason(trial)
        )
        ran.append({"number": trial.number, "state": state, "seconds": round(seconds, 3)})
        done = _done(count_states(study))  # every worker's, since this one started
        rate = per_minute(done - done_before, time.time() - since)
        _logger.info("progress: %s", progress_line(done, options.n_trials, rate))
        if not advised and len(ran) >= options.n_startup_trials:
            advised.append(True)  # once, when the sampler's startup trials are in
            _warn_if_nothing_learned(study, names, ctx.data.shape.num_classes)

    budget = WalltimeBudget.from_env(options.walltime_s, started)
    gate = TerminationGate()
    previous = signal.signal(signal.SIGTERM, gate.handler)
    try:
        ended = run_until_done(
            study,
            lambda trial: objective(trial, ctx),
            options.n_trials,
            max_failures=options.max_failures,
            journal=record.storage.kind == "journal",
            heartbeat_interval=options.heartbeat_interval,
            grace_period=options.grace_period,
            on_trial=log_trial,
            should_stop=lambda: budget.exhausted(ran),
            gate=gate,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    states = sorted({t["state"] for t in ran})
    return {
        "worker": worker_id,
        "study": record.name,
        "trials": ran,
        "states": {s: sum(1 for t in ran if t["state"] == s) for s in states},
        "study_states": count_outcomes(study),
        "workers": options.workers,  # as the rule passed them (the sampler's liar uses it)
        "torch_threads": torch.get_num_threads(),
        "ended": ended,
        "wall_seconds": round(time.time() - started, 3),
    }


def _done(counts: dict[str, int]) -> int:
    """Trials that count toward ``n_trials`` (as ``run_until_done`` counts them)."""
    return counts["complete"] + counts["pruned"]


def _warn_if_nothing_learned(study: optuna.Study, names: list[str], num_classes: int) -> None:
    """One warning, with what to do, when the best F1 so far is within noise of chance."""
    if "f1" not in names:
        return
    scored = attrs.study_candidates(study)
    if not scored:
        return
    column = names.index("f1")
    best = max(scored, key=lambda t: t.values[column])
    se = float(attrs.get(best, attrs.F1_SE) or 0.0)
    if learned_nothing(best.values[column], se, num_classes):
        _logger.warning("%s", nothing_learned_message(best.values[column], se, num_classes))
