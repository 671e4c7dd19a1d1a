"""The project's exceptions: one base class, so the CLI can print one line and exit non-zero."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator

MESSAGE_VALUE_CHARS = 200  # the most of a value any error message shows

_CREDENTIALS = re.compile(r"([^:/@\s'\"]+:)[^@/\s'\"]*@")
_QUERY_PASSWORD = re.compile(r"([?&](?:password|passwd|pwd)=)[^&\s'\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``; also a
    ``user:secret@host`` without a scheme (a URL the parser rejects), a ``?password=secret``
    query parameter (libpq reads one), and anywhere inside a longer message."""
    return _QUERY_PASSWORD.sub(r"\1***", _CREDENTIALS.sub(r"\1***@", text))


def short_repr(value: object) -> str:
    """``repr(value)`` for an error message: whole when it fits in ``MESSAGE_VALUE_CHARS``
    characters, else cut there with ``...``. Rendered piece by piece and stopped at the limit,
    so a huge value (a billion-item list an alias bomb builds from shared parts) costs no more
    to show than a small one."""
    text, size = [], 0
    for piece in _repr_pieces(value, depth=0):
        text.append(piece)
        size += len(piece)
        if size > MESSAGE_VALUE_CHARS:
            return "".join(text)[: MESSAGE_VALUE_CHARS - 3] + "..."
    return "".join(text)


def _repr_pieces(value: object, depth: int) -> Iterator[str]:
    """``repr(value)`` in pieces, containers item by item (the order ``repr`` uses)."""
    brackets = {list: "[]", tuple: "()", dict: "{}"}.get(type(value))
    if brackets is None or depth > 50:
        if isinstance(value, str) and len(value) > MESSAGE_VALUE_CHARS:
            value = value[:MESSAGE_VALUE_CHARS]  # cut below anyway; repr of the head only
        elif isinstance(value, int) and value.bit_length() > 2000:
            yield f"<an integer of {value.bit_length():,} bits>"
            return
        yield repr(value) if brackets is None else brackets[0] + "..." + brackets[1]
        return
    items = value.items() if isinstance(value, dict) else value
    yield brackets[0]
    for index, item in enumerate(items):
        if index:
            yield ", "
        if isinstance(value, dict):
            yield from _repr_pieces(item[0], depth + 1)
            yield ": "
            item = item[1]
        yield from _repr_pieces(item, depth + 1)
    if isinstance(value, tuple) and len(value) == 1:
        yield ","
    yield brackets[1]


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


def env_ceiling(variable: str, default: int, error: type[Exception]) -> int:
    """A ceiling the environment may move: the positive whole number in ``$variable``, or
    ``default``; a value that is not one is ``error`` naming the variable."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise error(f"${variable}: expected a positive whole number, got {raw!r}")
    return value
