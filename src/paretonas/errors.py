"""The project's exceptions: one base class, so the CLI can print one line and exit non-zero."""

from __future__ import annotations

import signal


class ParetonasError(Exception):
    """Base class of every error caused by user input (config, data, model YAML)."""


class ConfigError(ParetonasError, ValueError):
    """A configuration file or value is invalid; the message names the file and the key."""


class ModelConfigError(ConfigError):
    """A model YAML cannot mean one network; the message names the file, the row and the key."""


class DataError(ConfigError):
    """A data source or split cannot be prepared; the message names the file or the config key."""


class SearchError(ParetonasError):
    """The search cannot go on (e.g. too many failed trials); the study is kept as it is."""


class StorageError(ParetonasError):
    """The study's storage cannot be reached or opened (host down, port refused, wrong
    password); the message names the storage with its password as ``***``."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``scancel``, SLURM's warning before a walltime kill, a shell's ``kill``) raised
    where the process is, so that ``finally`` blocks clean up; a KeyboardInterrupt so that
    Optuna ends a running trial FAIL and lets it through, as it does Ctrl-C."""

    def __init__(self, signum: int = 15) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


def raise_terminated(signum: int, frame: object) -> None:
    """A ``signal.signal`` handler: raise :class:`Terminated`."""
    raise Terminated(signum)


def interrupt_status(exc: KeyboardInterrupt) -> tuple[str, int]:
    """The signal's name and the exit status a shell reports for it (128 + its number):
    ``("SIGTERM", 143)`` for :class:`Terminated`, ``("SIGINT", 130)`` for Ctrl-C."""
    signum = exc.signum if isinstance(exc, Terminated) else int(signal.SIGINT)
    return signal.Signals(signum).name, 128 + signum
