"""The project's exceptions: one base class, so the CLI can print one line and exit non-zero."""

from __future__ import annotations

import reprlib
import signal

MESSAGE_VALUE_CHARS = 200  # the most of a value any error message shows

_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxset = _SHORT.maxdict = 8
_SHORT.maxstring = _SHORT.maxother = 150
_SHORT.maxlong = 60


def short_repr(value: object) -> str:
    """``repr(value)`` for an error message, at most ``MESSAGE_VALUE_CHARS`` characters.

    reprlib stops at a few items a level and a few levels, so a huge value (a billion-item
    list an alias bomb builds from shared parts) costs no more to show than a small one.
    """
    text = _SHORT.repr(value)
    if len(text) > MESSAGE_VALUE_CHARS:
        text = text[: MESSAGE_VALUE_CHARS - 3] + "..."
    return text


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
