"""A throwaway PostgreSQL server on 127.0.0.1 for tests: initdb + pg_ctl as `postgres`.

Debian's package is installed by `.ci/run` (or by hand: `apt-get install postgresql`). Without
it, or without root (the server runs as the `postgres` user), tests that need the server are
skipped with that reason, unless PARETONAS_REQUIRE_SERVICES=1 (CI), where they fail instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services._require import require

START_TIMEOUT_S = 60


def _pg_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]) if candidates else None


def unavailable_reason() -> str | None:
    """Why no server can be started here, or None."""
    if _pg_bin() is None:
        return "Debian's postgresql is not installed (apt-get install postgresql)"
    if os.geteuid() != 0:
        return "starting PostgreSQL as the postgres user needs root"
    if shutil.which("runuser") is None:
        return "runuser is missing"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 is not installed (pip install -e '.[postgres]')"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One server in ``root`` (owned by postgres), listening on 127.0.0.1:``port`` only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = _pg_bin()
        self.port = free_port()
        self.data = root / "data"

    def _as_postgres(self, *args: str, timeout: int = START_TIMEOUT_S) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def init(self) -> PostgresServer:
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
            f"--pwfile={self._pwfile()}",
        )
        self.start()
        self.sql("CREATE ROLE optuna LOGIN PASSWORD 'optuna-secret'")
        self.sql("CREATE DATABASE optuna OWNER optuna")
        return self

    def _pwfile(self) -> Path:
        path = self.root / "pw"
        path.write_text("postgres\n")
        shutil.chown(path, "postgres", "postgres")
        return path

    def start(self) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            f"-c fsync=off -c max_connections=200",
            "start",
        )
        deadline = time.time() + START_TIMEOUT_S
        while time.time() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not listen on {self.port}")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop"
        )

    def kill(self) -> None:
        """Teardown that never hangs: the postmaster's pid from postmaster.pid, SIGKILL."""
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().split()[0]), 9)

    def sql(self, statement: str) -> None:
        subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                str(self.root),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-qv",
                "ON_ERROR_STOP=1",
                "-c",
                statement,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )

    @property
    def url(self) -> str:
        return f"postgresql://optuna:optuna-secret@127.0.0.1:{self.port}/optuna"


@contextlib.contextmanager
def throwaway_server(prefix: str = "paretonas-pg-") -> Iterator[PostgresServer]:
    """A started server in a /tmp dir of its own; stopped (or killed) and removed after."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = PostgresServer(root)
    try:
        server.init()
        yield server
    finally:
        try:
            server.stop("immediate")
        except Exception:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """A running server for the test session (stopped, or killed, at the end). Its data
    lives in a /tmp dir of its own: pytest's tmp dirs are closed to the postgres user."""
    require("PostgreSQL", unavailable_reason())
    with throwaway_server() as server:
        yield server


@pytest.fixture
def fresh_database(postgres):
    """An empty database per test (a study per test would also do; this keeps them apart)."""
    name = f"t{time.time_ns()}"
    postgres.sql(f"CREATE DATABASE {name} OWNER optuna")
    return postgres.url.rsplit("/", 1)[0] + f"/{name}"
