"""A search worker: runs trials on the shared study until it holds ``search.n_trials``
finished trials. Many workers (processes, SLURM jobs) run this at once on one study.

Crash recovery: on SQLite/PostgreSQL Optuna's heartbeat marks a dead worker's RUNNING
trial FAIL and ``RetryHeartbeatStaleTrialCallback`` re-queues its parameters. Optuna's
journal storage has no heartbeat, so workers hold a lease on their running trial instead
(``lease.py``): a trial whose lease expired is failed and re-queued by whoever sees it.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch

from paretonas.data import load_manifest, load_split
from paretonas.search.identity import identity_payload, objectives, study_name
from paretonas.search.loop import count_states, run_until_done
from paretonas.search.objective import SearchData, TrialContext, objective
from paretonas.search.pruning import PruningRule, single_objective_pruner
from paretonas.search.space import DataShape, load_space
from paretonas.search.storage import StorageInfo, open_storage, resolve_storage
from paretonas.search.study_files import write_study_json
from paretonas.train import Augment, Split

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyHandle:
    name: str
    directory: Path
    storage: StorageInfo
    payload: dict[str, Any]


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
    for key, value in (("objectives", [n for n, _ in objectives(config)]),):
        if study.user_attrs.get(key) != value:
            study.set_user_attr(key, value)
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
    """Run trials until the study is done; return (and write) this worker's report."""
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

    ended = run_until_done(
        study, lambda trial: objective(trial, ctx), search["n_trials"],
        max_failures=search["max_failures"], journal=handle.storage.kind == "journal",
        heartbeat_interval=search["heartbeat_interval"], grace_period=search["grace_period"],
        on_trial=log_trial,
    )  # fmt: skip
    report = {
        "worker": worker_id, "study": handle.name, "trials": ran,
        "states": {s: sum(1 for t in ran if t["state"] == s) for s in {t["state"] for t in ran}},
        "study_states": count_states(study), "ended": ended,
        "wall_seconds": round(time.time() - started, 3),
    }  # fmt: skip
    return report
