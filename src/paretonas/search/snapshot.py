"""The search stage's declared result: a frozen copy of the finished study and its archives.

The live study is shared, mutable state: many workers (processes, SLURM jobs) write it, a
re-run continues it, and it may live in a PostgreSQL server. No single Snakemake job can own
it: Snakemake deletes a job's outputs before running it, which would destroy a study being
continued. So the search ends with a snapshot that a job *does* own, and every later stage
reads only that: ``study.db`` (SQLite, one study, whatever the live storage was) and
``trials/<number>/`` (the archives, hard-linked where the filesystem allows, else copied).
Beside them, ``trials.csv``: one row per trial (``search.table``), for people and pandas.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import optuna

from paretonas.search.storage import open_storage
from paretonas.search.study import StudyError, open_study, read_record
from paretonas.search.table import write_trials_csv

_logger = logging.getLogger(__name__)


def snapshot_study(
    study_json: str | os.PathLike,
    study_db: str | os.PathLike,
    trials_dir: str | os.PathLike,
    trials_csv: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Write ``study_db`` and ``trials_dir`` from the live study ``study_json`` names, and
    ``trials_csv`` (the snapshot's trials, archives under ``trials_dir``) when given, each
    atomically (a temp sibling, then a rename). Returns counts for the log."""
    record = read_record(study_json)
    study_db, trials_dir = Path(study_db), Path(trials_dir)
    study_db.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{study_db.name}.", suffix=".tmp", dir=study_db.parent)
    os.close(fd)
    try:
        if record.storage.kind == "sqlite":
            _sqlite_backup(record.storage.file, tmp)
        else:
            os.unlink(tmp)  # copy_study creates the database itself
            optuna.copy_study(
                from_study_name=record.name,
                from_storage=open_storage(record.storage),
                to_storage=f"sqlite:///{tmp}",
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, study_db)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    snapshot = open_study(study_db)
    trials = snapshot.get_trials(deepcopy=False)
    linked = _mirror(record.trials_dir, trials_dir)
    if trials_csv is not None:
        write_trials_csv(snapshot, trials_csv, trials_dir)
    _logger.info(
        "snapshot of %s (%s): %d trials -> %s; %d archive files -> %s",
        record.name,
        record.storage.redacted,
        len(trials),
        study_db,
        linked,
        trials_dir,
    )
    return {"study": record.name, "trials": len(trials), "archive_files": linked}


def _sqlite_backup(source: Path, target: str) -> None:
    """SQLite's online backup: an exact, consistent copy even while others read the source."""
    if not source.is_file():
        raise StudyError(f"no study storage at {source}")
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _mirror(source: Path, target: Path) -> int:
    """Hard-link (else copy) every file under ``source`` into a fresh ``target``."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    count = 0
    try:
        os.chmod(staging, 0o755)
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                if path.name.startswith(".") or not path.is_file():
                    continue  # a writer's temp file, never a result
                destination = staging / path.relative_to(source)
                destination.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(path, destination)
                except OSError:
                    shutil.copy2(path, destination)
                count += 1
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count
