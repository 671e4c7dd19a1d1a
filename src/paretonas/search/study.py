"""The study's one door: its identity, its record (``study.json``), creating it, opening it.

``study.json`` names the study and where it lives; every later stage finds the study through
it (``open_study``), or through the SQLite snapshot the search stage ends with
(``search/snapshot.py``). The live study directory sits beside ``study.json``:
``<dir of study.json>/<study name>/`` with ``study.db`` or ``journal.log``, ``trials/`` and
``workers/``. A PostgreSQL URL (with its password) is never recorded: the record names the
environment variable that holds it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage

from paretonas import __version__
from paretonas.errors import ConfigError, StorageError
from paretonas.objectives import Objective, from_names, pairs
from paretonas.search.storage import (
    DEFAULT_STORAGE_ENV,
    StorageInfo,
    open_storage,
    open_storage_readonly,
    resolve_storage,
)
from paretonas.yamlio import atomic_write_text

_logger = logging.getLogger(__name__)


class StudyError(ConfigError):
    """A study that cannot be found or opened; the message names the file or the storage."""


def identity_payload(
    space: dict[str, Any],
    manifest: dict[str, Any],
    objectives: list[Objective],
    constraints: dict[str, float | None],
    seed: int,
) -> dict[str, Any]:
    """What makes trials comparable, hashed into the study name: a changed space, data
    (splits and augmentation), objective list, constraint or seed starts a new study; a larger
    trial budget or more workers continue the same one."""
    return {
        "space": space,
        "data": {
            "splits_md5": manifest["outputs"],
            "class_names": manifest["class_names"],
            "input_shape": manifest["input_shape"],
            "augment": manifest.get("augment"),
        },
        "objectives": pairs(objectives),
        "constraints": constraints,
        "seed": seed,
    }


def study_name(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return "paretonas-" + hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class StudyRecord:
    """What ``study.json`` holds: the name, the live directory, the storage, the objectives."""

    name: str
    directory: Path
    storage: StorageInfo
    objectives: list[Objective]
    payload: dict[str, Any]

    @property
    def trials_dir(self) -> Path:
        return self.directory / "trials"

    def to_dict(self, base: Path) -> dict[str, Any]:
        """The record, its files relative to ``base`` (the folder of the study.json written),
        so a results folder can move (a clone, ``dvc pull``) and still be read."""
        file = self.storage.file if self.storage.env is None else None
        return {
            "name": self.name,
            "directory": os.path.relpath(self.directory, base),
            "storage": {
                "kind": self.storage.kind,
                "url": self.storage.redacted,  # for people; never holds a password
                "file": None if file is None else os.path.relpath(file, base),
                "env": self.storage.env,
            },
            "objectives": pairs(self.objectives),
            "hashed": self.payload,
            "paretonas_version": __version__,
        }


def new_record(
    study_json: str | os.PathLike,
    payload: dict[str, Any],
    storage: str,
    storage_env: str | None = None,
) -> StudyRecord:
    """The record of the study ``payload`` names, living beside ``study_json``."""
    name = study_name(payload)
    directory = Path(study_json).parent / name
    info = resolve_storage(storage, directory, storage_env or DEFAULT_STORAGE_ENV)
    objectives = from_names(n for n, _ in payload["objectives"])
    return StudyRecord(name, directory, info, objectives, payload)


def write_record(record: StudyRecord, path: str | os.PathLike) -> Path:
    path = Path(path)
    text = json.dumps(record.to_dict(path.parent), indent=2) + "\n"
    return atomic_write_text(path, text)


def read_record(study_json: str | os.PathLike) -> StudyRecord:
    """Read ``study.json``; a storage URL from the environment (PostgreSQL) comes from the
    variable it names, never from the file."""
    path = Path(study_json)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        name, storage = data["name"], data["storage"]
        kind, shown, env = storage["kind"], storage["url"], storage.get("env")
        directory = path.parent / data["directory"]
        objectives = from_names(name for name, _ in data["objectives"])
    except FileNotFoundError:
        raise StudyError(f"{path}: no such file (run the search stage first)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StudyError(f"{path}: not a study record: {type(exc).__name__}: {exc}") from None
    if env is None:
        file = path.parent / storage["file"]
        url = f"sqlite:///{file}" if kind == "sqlite" else str(file)
        info = StorageInfo(kind, url, url, heartbeat=kind == "sqlite")
    else:
        if not os.environ.get(env, "").strip():
            raise StudyError(f"{path}: study {name} is in {shown}; set ${env} to its URL")
        info = resolve_storage(kind, directory, env)
        if info.redacted != shown:
            _logger.warning("%s records %s, but $%s is %s", path, shown, env, info.redacted)
    return StudyRecord(name, directory, info, objectives, data.get("hashed", {}))


@dataclass(frozen=True)
class Heartbeat:
    """How workers detect each other's death (RDB storages; journal storage uses leases)."""

    interval: int = 10
    grace_period: int = 30


def create_study(
    record: StudyRecord,
    *,
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    heartbeat: Heartbeat | None = None,
) -> optuna.Study:
    """Create the study, or load it if it exists (workers race to create it; losers load it).
    The objective names are recorded for Optuna's plots, the CLI and the dashboard."""
    heartbeat = heartbeat or Heartbeat()
    storage = open_storage(record.storage, heartbeat.interval, heartbeat.grace_period)
    directions = [o.direction for o in record.objectives]
    for attempt in range(5):
        try:
            study = optuna.create_study(
                study_name=record.name,
                storage=storage,
                directions=directions,
                sampler=sampler,
                pruner=pruner,
                load_if_exists=True,
            )
            break
        except Exception:
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    names = [o.name for o in record.objectives]
    if study.metric_names != names:
        try:
            with warnings.catch_warnings():  # set_metric_names is "experimental"
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names(names)
        except optuna.exceptions.StorageInternalError:
            _logger.debug("metric names: another worker set them at the same time")
    return study


def open_study(location: str | os.PathLike) -> optuna.Study:
    """Open an existing study for reading, never creating or changing one: ``location`` is a
    ``study.json`` (the live study) or a SQLite file holding one study (the search stage's
    snapshot). A missing file or study, or a file that is not this product's study, is a
    StudyError naming it."""
    storage, name, _ = open_study_storage(location)
    return optuna.load_study(study_name=name, storage=storage)


def open_study_storage(location: str | os.PathLike) -> tuple[BaseStorage, str, StorageInfo]:
    """The storage of an existing study (as ``open_study`` finds it), opened read-only (not a
    byte written, not even tables or WAL), the study's name, and where it lives
    (``info.redacted`` is safe to show): for readers that need the storage itself, such as
    the dashboard. Workers and ``search-study`` use ``create_study`` instead."""
    path = Path(location)
    if path.suffix == ".json":
        record = read_record(path)
        info, name = record.storage, record.name
        where = f"{path}: study {name!r}"
    else:
        url = f"sqlite:///{path}"
        info = StorageInfo("sqlite", url, url, heartbeat=False)
        name, where = None, str(path)
    if info.file is not None and not info.file.is_file():
        if name is None:
            raise StudyError(f"{path}: no such file (a study snapshot or a study.json)")
        raise StudyError(f"{where}: no storage at {info.file}")
    try:
        storage = open_storage_readonly(info, frozen=name is None)  # a snapshot file
    except StorageError as exc:
        raise StudyError(str(exc) if name is None else f"{where}: {exc}") from None
    if name is None:
        summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
        if len(summaries) != 1:
            found = [s.study_name for s in summaries]
            raise StudyError(f"{path}: expected one study, found {found}")
        name = summaries[0].study_name
    try:
        storage.get_study_id_from_name(name)
    except KeyError:
        raise StudyError(f"{where}: no such study in {info.redacted}") from None
    try:
        objectives_of(optuna.load_study(study_name=name, storage=storage))
    except ConfigError as exc:  # an Optuna study, but not one this product wrote
        raise StudyError(f"{path}: not a paretonas study: {exc}") from None
    return storage, name, info


def objectives_of(study: optuna.Study) -> list[Objective]:
    """The study's objectives, from its recorded metric names (directions checked)."""
    names = study.metric_names
    if names is None:
        raise StudyError(f"study {study.study_name}: no objective names recorded")
    objectives = from_names(names)
    directions = [d.name.lower() for d in study.directions]
    if directions != [o.direction for o in objectives]:
        raise StudyError(
            f"study {study.study_name}: directions {directions} do not match its objectives "
            f"{pairs(objectives)}"
        )
    return objectives


__all__ = [
    "Heartbeat",
    "StudyError",
    "StudyRecord",
    "create_study",
    "identity_payload",
    "new_record",
    "objectives_of",
    "open_study",
    "open_study_storage",
    "read_record",
    "study_name",
    "write_record",
]
