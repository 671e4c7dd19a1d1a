"""Where a study lives: SQLite (default), Optuna's journal file, or PostgreSQL from the env.

Two doors: ``open_storage`` for the search (workers, ``search-study``: it creates tables and
turns on WAL) and ``open_storage_readonly`` for readers (status, dashboard, report, select,
profile), which writes not a byte and refuses a file that is not an Optuna study.
A storage URL with a password never reaches results or logs: ``redact()`` it first.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import sqlite3
import time
import urllib.parse
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from optuna.storages import BaseStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalStorage

from paretonas.errors import ConfigError, StorageError, redact

_logger = logging.getLogger(__name__)

DEFAULT_STORAGE_ENV = "PARETONAS_STORAGE"
SQLITE_BUSY_TIMEOUT_S = 300  # parallel writers wait this long for the lock, never "locked"


@dataclass(frozen=True)
class StorageInfo:
    """A resolved storage: its kind, its URL (secret) and the URL safe to record."""

    kind: str  # "sqlite" | "journal" | "postgresql"
    url: str
    redacted: str
    heartbeat: bool  # whether Optuna heartbeats detect dead workers (RDB only)
    env: str | None = None  # the environment variable the URL came from, if any

    @property
    def file(self) -> Path | None:
        """The SQLite or journal file (None for a server)."""
        if self.kind == "journal":
            return Path(self.url)
        if self.kind == "sqlite":
            return Path(self.url.removeprefix("sqlite:///"))
        return None


# A database URL's scheme (postgresql+psycopg, mysql, sqlite, ...) and any URL's scheme: a
# storage variable's value is shown (redacted) only as a database URL, or as credentials
# (``user:password@host``) missing their scheme; anything else may be a token, never shown.
_DATABASE_SCHEME = re.compile(r"^(postgres(ql)?|mysql|mariadb|sqlite|oracle|mssql)(\+\w+)?://")
_ANY_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def shown(value: str) -> str:
    """How an error names what a storage variable holds: ``got '<value redacted>'`` for a
    database URL or a ``user:password@host`` without a scheme; for anything else (an API
    token in the wrong variable, a web address with a key in it) only that it is no storage
    URL."""
    looks_like_credentials = not _ANY_SCHEME.match(value) and redact(value) != value
    if _DATABASE_SCHEME.match(value) or looks_like_credentials:
        return f"got {redact(value)!r}"
    return "got a value that is no storage URL (not shown)"


def resolve_storage(
    kind: str, study_dir: str | os.PathLike, env_var: str | None = None
) -> StorageInfo:
    """Pick the storage: the URL in ``env_var`` (default PARETONAS_STORAGE) when set, else
    ``kind`` ("sqlite" or "journal") under ``study_dir``."""
    env_var = env_var or DEFAULT_STORAGE_ENV
    url = os.environ.get(env_var, "").strip()
    if url:
        if url.startswith(("postgresql://", "postgresql+")):
            _require_postgres_driver(url)
            _check_url(url, env_var)
            return StorageInfo("postgresql", url, redact(url), heartbeat=True, env=env_var)
        if url.startswith("sqlite:///"):
            return StorageInfo("sqlite", url, url, heartbeat=True, env=env_var)
        raise ConfigError(f"${env_var}: expected a postgresql:// or sqlite:/// URL, {shown(url)}")
    study_dir = Path(study_dir)
    if kind == "sqlite":
        refuse_network_filesystem(study_dir)
        url = f"sqlite:///{study_dir / 'study.db'}"
        return StorageInfo("sqlite", url, url, heartbeat=True)
    if kind == "journal":
        path = str(study_dir / "journal.log")
        return StorageInfo("journal", path, path, heartbeat=False)
    raise ConfigError(f"search.storage: expected sqlite or journal, got {kind!r}")


# fmt: off
NETWORK_FILESYSTEMS = {
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "fuse.sshfs",
    "glusterfs", "ceph", "fuse.ceph", "afs", "9p",
}
# fmt: on


def filesystem_type(path: Path, mounts: str | None = None) -> str:
    """The type of the filesystem holding ``path``, from /proc/mounts (longest mount prefix)."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError:
            return "unknown"
    path = Path(os.path.abspath(path))
    best, kind = -1, "unknown"
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (path == Path(point) or Path(point) in path.parents) and len(point) > best:
            best, kind = len(point), fields[2]
    return kind


def refuse_network_filesystem(study_dir: Path, mounts: str | None = None) -> None:
    """SQLite's locking is unreliable on network filesystems (corrupt studies): refuse."""
    kind = filesystem_type(study_dir, mounts)
    if kind in NETWORK_FILESYSTEMS and os.environ.get("PARETONAS_ALLOW_NETWORK_SQLITE") != "1":
        raise ConfigError(
            f"search.storage: sqlite on {study_dir} ({kind}, a network filesystem) corrupts "
            f"studies shared by several machines; use PostgreSQL (set ${DEFAULT_STORAGE_ENV}="
            f"postgresql://...) or search.storage: journal (or set "
            f"PARETONAS_ALLOW_NETWORK_SQLITE=1 if only one machine writes)"
        )


def _check_url(url: str, env_var: str) -> None:
    """A URL SQLAlchemy cannot parse (a port like ``54x2``) is one line, password hidden."""
    try:
        sqlalchemy.engine.make_url(url).port  # noqa: B018 (parsing the port is the check)
    except (ValueError, sqlalchemy.exc.ArgumentError) as exc:
        reason = redact(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
        raise ConfigError(f"${env_var}: malformed URL {redact(url)!r}: {reason}") from None


def _require_postgres_driver(url: str) -> None:
    driver = "psycopg" if url.startswith("postgresql+psycopg:") else "psycopg2"
    if importlib.util.find_spec(driver) is None:
        raise ConfigError(
            f"{redact(url)}: PostgreSQL storage needs the {driver} package: "
            f"pip install -e '.[postgres]'"
        )


def open_storage(
    info: StorageInfo, heartbeat_interval: int = 10, grace_period: int = 30, max_retry: int = 2
) -> BaseStorage:
    """An Optuna storage; RDB storages get heartbeats and retry trials of dead workers."""
    if info.kind == "journal":
        Path(info.url).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(info.url))
    engine_kwargs = {}
    if info.kind == "sqlite":
        Path(info.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    else:  # a dead server is an error in seconds, never a hang
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    for attempt in range(6):  # workers opening a new database race to create its tables
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = RDBStorage(
                    info.url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry),
                )
            break
        except Exception as exc:
            if attempt == 5 or _permanent(exc):
                raise StorageError(
                    f"{info.redacted}: cannot open the study's storage: {_reason(exc)}"
                ) from None
            _logger.log(  # one line, not one per attempt
                logging.INFO if attempt == 0 else logging.DEBUG,
                "storage %s not ready (%s); retrying for up to 6 s",
                info.redacted,
                type(exc).__name__,
            )
            time.sleep(0.2 * 2**attempt)
    if info.kind == "sqlite":
        with storage.engine.connect() as connection:  # WAL: readers never block the writer
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")  # kept in the file
        sqlalchemy.event.listen(storage.engine, "connect", _sqlite_synchronous_normal)
        storage.engine.dispose()  # pooled connections reconnect with the pragma
    return storage


def _reason(exc: BaseException) -> str:
    """The first line that says something of a driver's error, password hidden: the
    driver's own error where one is in the chain (Optuna wraps some in its own)."""
    cause: BaseException | None = exc
    while cause is not None and getattr(cause, "orig", None) is None:
        cause = cause.__cause__ or cause.__context__
    cause = getattr(cause, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return redact(lines[0] if lines else type(cause).__name__)


def _permanent(exc: BaseException) -> bool:
    """Errors retrying cannot fix (the race between workers creating tables can)."""
    text = str(getattr(exc, "orig", None) or exc)
    return "password authentication failed" in text or (
        "database" in text and "does not exist" in text
    )


def _sqlite_synchronous_normal(connection: Any, _record: Any) -> None:
    """``synchronous=NORMAL`` under WAL: a commit no longer waits for an fsync (SQLite's
    default, FULL, fsyncs the log at every commit; a trial commits ~10 times). A crash of a
    worker or of every worker loses nothing; a power loss or an OS crash can roll back the
    last commits before the WAL checkpoint (trials that then re-run), never corrupt the
    study. PostgreSQL keeps its server's own durability settings."""
    connection.execute("PRAGMA synchronous=NORMAL")


def open_storage_readonly(info: StorageInfo, frozen: bool = False) -> BaseStorage:
    """An existing study's storage for readers: nothing is created or written (no tables, no
    WAL pragma, no version stamp, no folder). A SQLite file is checked with the stdlib in
    read-only mode before Optuna sees it, then opened read-only; a file that is not an Optuna
    study is a StorageError naming it. ``frozen``: a snapshot, which no worker writes."""
    if info.kind == "journal":  # JournalFileBackend appends nothing until a trial is written
        return JournalStorage(JournalFileBackend(info.url))
    if info.kind == "sqlite":
        uri = _readonly_study_uri(Path(info.url.removeprefix("sqlite:///")), frozen)
        engine_kwargs: dict[str, Any] = {
            "creator": lambda: sqlite3.connect(
                uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_S, check_same_thread=False
            )
        }
    else:
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    try:
        return RDBStorage(info.url, engine_kwargs=engine_kwargs, skip_table_creation=True)
    except Exception as exc:  # a server down, a database without Optuna's tables
        raise StorageError(
            f"{info.redacted}: cannot open the study's storage: {_reason(exc)}"
        ) from None


_SQLITE_HEADER = b"SQLite format 3\x00"
_OPTUNA_TABLES = {"studies", "study_directions", "trials", "version_info", "alembic_version"}


def _readonly_study_uri(path: Path, frozen: bool) -> str:
    """SQLite's URI for reading the study in ``path`` without writing, once the stdlib, in
    read-only mode, found it one: not empty, SQLite, with Optuna's tables and version stamp.
    ``mode=ro`` still creates ``-wal`` and ``-shm`` beside a WAL database whose writers are
    gone, so a ``frozen`` one (a snapshot: WAL in its header, no ``-wal`` beside it, nobody
    has it open) is opened ``immutable``, which creates nothing; another file named by hand is
    read ``mode=ro``. The workflow's own study (found through its study.json, not ``frozen``)
    is read as its workers read it, with no DDL or pragma."""
    uri = "file:" + urllib.parse.quote(str(path.resolve()))
    if not frozen:
        # Read by SQLite alone: closing any other descriptor of the file would drop the POSIX
        # locks this process's SQLite connections hold on it (a poller's earlier ones), and
        # the workers could then rewrite pages under them ("database disk image is malformed").
        if path.stat().st_size == 0:
            raise StorageError(f"{path}: an empty file, not a study")
        return _checked_study(path, uri)
    with open(path, "rb") as file:
        header = file.read(100)
    if not header:
        raise StorageError(f"{path}: an empty file, not a study (expected a study snapshot)")
    if not header.startswith(_SQLITE_HEADER):
        raise StorageError(
            f"{path}: not a SQLite database (it starts with {header[:16]!r}), not a study"
        )
    wal = header[18:20] == b"\x02\x02"
    live = Path(f"{path}-wal").exists()
    return _checked_study(path, uri + ("?immutable=1" if wal and not live else "?mode=ro"))


def _checked_study(path: Path, uri: str) -> str:
    """``uri`` once the stdlib found an Optuna study there: its tables and version stamp."""
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_S)
        try:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {name for (name,) in rows}
            stamped = not (_OPTUNA_TABLES - tables) and all(
                connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("version_info", "alembic_version")
            )
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise StorageError(f"{path}: cannot read it as a study: {exc}") from None
    if _OPTUNA_TABLES - tables:
        found = ", ".join(sorted(tables)) or "none"
        raise StorageError(
            f"{path}: a SQLite database but not an Optuna study: no table "
            f"{', '.join(sorted(_OPTUNA_TABLES - tables))} (its tables: {found})"
        )
    if not stamped:
        raise StorageError(f"{path}: an Optuna database without its schema version, not a study")
    return uri
