"""The live view: optuna-dashboard on the study's own storage, served on localhost.

The storage comes through the study's one door (``open_study_storage``: a ``study.json`` names
SQLite, a journal file, or the environment variable holding a PostgreSQL URL), so the dashboard
reads exactly the study the workers write. optuna-dashboard's WSGI app is served by the
standard library's server, bound before anything is printed (``port=0`` picks a free port), and
stops cleanly on Ctrl-C or SIGTERM. Only the redacted storage URL is ever shown.

The view is read-only: optuna-dashboard's page can delete, rename or create studies, finish
trials and upgrade the database schema, and one stray click must not lose a search that ran
for hours (or rename the study from under its workers), so every request that is not a read
is refused.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import socketserver
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from paretonas.errors import ParetonasError
from paretonas.search.study import open_study_storage

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

_logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
WILDCARD_HOSTS = {"", "0.0.0.0", "::"}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


class DashboardError(ParetonasError):
    """The dashboard cannot start (not installed, bad host or port, port taken)."""


def study_json_of(results_dir: str | os.PathLike) -> Path:
    """Where the workflow keeps the live study's record for a config's ``results_dir``."""
    return Path(results_dir) / "search" / "study.json"


def read_only(app: Callable) -> Callable:
    """``app`` behind a guard that answers 403 to every request but a read."""

    def guarded(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method in READ_METHODS:
            return app(environ, start_response)
        path = environ.get("PATH_INFO", "")
        _logger.warning("refused %s %s: the dashboard is read-only", method, path)
        reason = "paretonas dashboard is read-only: the study is never changed from the page"
        body = json.dumps({"reason": reason}).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response("403 Forbidden", headers)
        return [body]

    return guarded


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    """A threaded WSGI server: the single-page app fetches several things at once, and a slow
    request (a large study) does not hold up the others."""

    daemon_threads = True
    block_on_close = False


class _QuietHandler(WSGIRequestHandler):
    """Requests go to the debug log, not to stderr line by line."""

    def log_message(self, format: str, *args: Any) -> None:
        _logger.debug("%s %s", self.address_string(), format % args)


@dataclass
class Dashboard:
    """optuna-dashboard bound to a port, serving one study's storage (not yet serving)."""

    server: WSGIServer
    study_name: str
    study_id: int
    n_trials: int
    storage_shown: str  # the redacted storage URL: safe to print
    host: str

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def base_url(self) -> str:
        host = self.host
        if host in WILDCARD_HOSTS:
            host = socket.gethostname()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The study's page (optuna-dashboard's single-page app routes /dashboard/...)."""
        return f"{self.base_url}/dashboard/studies/{self.study_id}"

    def serve(self) -> None:
        """Serve until Ctrl-C or SIGTERM (from the main thread) or ``stop()``; then close."""
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            with warnings.catch_warnings():
                # the page's importance card warns about sparse parameters at every refresh
                warnings.filterwarnings(
                    "ignore", category=UserWarning, module=r"optuna\.importance"
                )
                self.server.serve_forever()
        except KeyboardInterrupt:
            _logger.info("dashboard stopped")
        finally:
            self.server.server_close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def stop(self) -> None:
        """Stop ``serve()`` running in another thread."""
        self.server.shutdown()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def make_dashboard(
    study: str | os.PathLike, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> Dashboard:
    """Open the study at ``study`` (a ``study.json`` or a snapshot ``study.db``) and bind
    optuna-dashboard to ``host``:``port``. A missing study, a port out of range or taken, or a
    missing optuna-dashboard is a ParetonasError naming it."""
    if not 0 <= port <= 65535:
        raise DashboardError(f"--port: expected 0 (any free port) to 65535, got {port}")
    try:
        import optuna_dashboard
    except ModuleNotFoundError as exc:
        if exc.name != "optuna_dashboard":
            raise
        raise DashboardError(
            "optuna-dashboard is not installed: pip install -e '.[dashboard]' (make setup does)"
        ) from None
    storage, name, info = open_study_storage(study)
    study_id = storage.get_study_id_from_name(name)
    n_trials = len(storage.get_all_trials(study_id, deepcopy=False))
    app = optuna_dashboard.wsgi(storage)
    server_class = _Server
    if ":" in host:
        server_class = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
    try:
        server = server_class((host, port), _QuietHandler)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DashboardError(
            f"--host {host} --port {port}: cannot listen there: {reason}"
        ) from None
    server.set_app(read_only(app))
    if host in WILDCARD_HOSTS:
        _logger.warning(
            "listening on every interface (--host %r): anyone who reaches this machine can see "
            "the study (optuna-dashboard has no login)",
            host,
        )
    return Dashboard(server, name, study_id, n_trials, info.redacted, host)


__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Dashboard",
    "DashboardError",
    "make_dashboard",
    "read_only",
    "study_json_of",
]
