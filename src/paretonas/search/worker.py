"""A search worker: runs trials on the shared study until it holds ``search.n_trials``
finished trials. Many workers (processes, SLURM jobs) run this at once on one study.

Crash recovery: on SQLite/PostgreSQL Optuna's heartbeat marks a dead worker's RUNNING
trial FAIL and ``RetryHeartbeatStaleTrialCallback`` re-queues its parameters. Optuna's
journal storage has no heartbeat, so workers hold a lease on their running trial instead
(``lease.py``): a trial whose lease expired is failed and re-queued by whoever sees it.
"""

from __future__ import annotations

import logging
import os
import signal
import statistics
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch

from paretonas.data import load_manifest, load_split
from paretonas.errors import SearchError
from paretonas.search.identity import identity_payload, objectives, study_name
from paretonas.search.loop import count_states, raise_terminated, run_until_done
from paretonas.search.objective import SearchData, TrialContext, objective
from paretonas.search.pruning import PruningRule, single_objective_pruner
from paretonas.search.space import DataShape, load_space
from paretonas.search.storage import StorageInfo, open_storage, redact, resolve_storage
from paretonas.search.study_files import write_study_json
from paretonas.train import Augment, Split

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyHandle:
    name: str
    directory: Path
    storage: StorageInfo
    payload: dict[str, Any]


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


def study_handle(config: dict, data_dir: str | Path) -> StudyHandle:
    """Resolve the study of this config and data: name, directory, storage."""
    space = load_space(config["search"]["space"])
    payload = identity_payload(space, load_manifest(data_dir), config)
    name = study_name(payload)
    directory = Path(config["results_dir"]) / "search" / name
    storage = resolve_storage(
        config["search"]["storage"], directory, config["search"]["storage_env"]
    )
    return StudyHandle(name, directory, storage, payload)


def make_sampler(config: dict, worker_id: int) -> optuna.samplers.BaseSampler:
    seed = config["seed"] * 1000 + worker_id  # distinct streams per worker, reproducible
    kind = config["search"]["sampler"]
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    with warnings.catch_warnings():  # multivariate/group are "experimental" in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed,
            multivariate=True,
            group=True,  # conditional (per-module) parameters are modelled per branch
            constant_liar=True,  # parallel workers don't all sample next to a running trial
            n_startup_trials=config["search"]["n_startup_trials"],
        )


def open_study(config: dict, handle: StudyHandle, worker_id: int) -> optuna.Study:
    search = config["search"]
    storage = open_storage(handle.storage, search["heartbeat_interval"], search["grace_period"])
    directions = [direction for _, direction in objectives(config)]
    pruner = (
        single_objective_pruner(config["pruning"]["single_objective_pruner"])
        if len(directions) == 1 and config["pruning"]["enabled"]
        else optuna.pruners.NopPruner()
    )
    for attempt in range(5):  # workers race to create the study; losers load it
        try:
            study = optuna.create_study(
                study_name=handle.name, storage=storage, directions=directions,
                sampler=make_sampler(config, worker_id), pruner=pruner, load_if_exists=True,
            )  # fmt: skip
            break
        except Exception:
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    names = [name for name, _ in objectives(config)]
    if study.metric_names != names:  # objective names for Optuna's plots and the dashboard
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names(names)
        except optuna.exceptions.StorageInternalError:
            _logger.debug("metric names: another worker set them at the same time")
    return study


def search_data(data_dir: str | Path) -> SearchData:
    manifest = load_manifest(data_dir)
    train, val = (Split(*load_split(data_dir, f"search/{s}")) for s in ("train", "val"))
    shape = DataShape(tuple(manifest["input_shape"]), manifest["num_classes"])
    return SearchData(
        train=train, val=val,
        mean=manifest["normalization"]["mean"], std=manifest["normalization"]["std"],
        augment=Augment.from_dict(manifest["augment"], "data.augment"), shape=shape,
    )  # fmt: skip


def run_worker(config: dict, worker_id: int, data_dir: str | Path) -> dict[str, Any]:
    """Run trials until the study is done; return this worker's report. A storage that
    goes away (a stopped server) is a SearchError naming it (password redacted)."""
    try:
        return _run_worker(config, worker_id, data_dir)
    except Exception as exc:
        cause = _storage_failure(exc)
        if cause is None:
            raise
        handle = study_handle(config, data_dir)
        reason = str(getattr(cause, "orig", None) or cause).strip().splitlines()[0]
        raise SearchError(
            f"storage {handle.storage.redacted}: {type(cause).__name__}: {redact(reason)}; "
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


def _run_worker(config: dict, worker_id: int, data_dir: str | Path) -> dict[str, Any]:
    torch.set_num_threads(1)  # one thread per worker: oversubscription was ~30x slower
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # we log one line per trial ourselves
    started = time.time()
    handle = study_handle(config, data_dir)
    write_study_json(handle, config)
    study = open_study(config, handle, worker_id)
    search, pruning = config["search"], config["pruning"]
    ctx = TrialContext(
        space=load_space(search["space"]), data=search_data(data_dir),
        study_dir=handle.directory, objectives=objectives(config),
        constraints=search["constraints"], seed=config["seed"], worker_id=worker_id,
        pruning=PruningRule.from_config(pruning) if pruning["enabled"] else None,
        latency_runs=search["latency_runs"], device=search["device"],
    )  # fmt: skip
    ran: list[dict[str, Any]] = []

    def log_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        seconds = trial.duration.total_seconds() if trial.duration else 0.0
        state = "infeasible" if trial.user_attrs.get("infeasible") else trial.state.name.lower()
        values = dict(zip([n for n, _ in ctx.objectives], trial.values or [], strict=False))
        shown = ", ".join(f"{k}={v:.4g}" for k, v in values.items()) or "-"
        reason = trial.user_attrs.get("prune_reason") or trial.user_attrs.get("fail_reason") or ""
        _logger.info("trial %d %s %s %.1fs %s", trial.number, state, shown, seconds, reason)
        ran.append({"number": trial.number, "state": state, "seconds": round(seconds, 3)})

    budget = WalltimeBudget.from_env(search["walltime_s"], started)
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        ended = run_until_done(
            study, lambda trial: objective(trial, ctx), search["n_trials"],
            max_failures=search["max_failures"], journal=handle.storage.kind == "journal",
            heartbeat_interval=search["heartbeat_interval"], grace_period=search["grace_period"],
            on_trial=log_trial, should_stop=lambda: budget.exhausted(ran),
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGTERM, previous)
    report = {
        "worker": worker_id, "study": handle.name, "trials": ran,
        "states": {s: sum(1 for t in ran if t["state"] == s) for s in {t["state"] for t in ran}},
        "study_states": count_states(study), "ended": ended,
        "wall_seconds": round(time.time() - started, 3),
    }  # fmt: skip
    return report
