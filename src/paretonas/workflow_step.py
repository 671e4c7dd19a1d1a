"""What a workflow script does around the one package function it calls: log to the rule's
``log:`` file, turn a user error into one line and a non-zero exit, pass on an exit status.

The package never imports snakemake; ``workflow/scripts/*.py`` hand this module plain paths
and values from the ``snakemake`` object.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from paretonas.errors import ParetonasError, interrupt_status, raise_terminated

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to(path: str | os.PathLike | None, verbose: bool = False) -> None:
    """Send every log record (ours, Optuna's, warnings) to ``path`` (stderr when None)."""
    handler: logging.Handler
    handler = logging.FileHandler(path, mode="w") if path else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.captureWarnings(True)
    optuna = sys.modules.get("optuna")  # imported with the stage's function, if it uses it
    if optuna is not None:  # Optuna logs to stderr through its own handler: route it here
        optuna.logging.disable_default_handler()
        optuna.logging.enable_propagation()


def run_step(
    log: str | os.PathLike | None, function: Callable[..., Any], *args: Any, **kwargs: Any
) -> None:
    """Call ``function`` with its log going to ``log``, then exit: with its status when it
    returns an int, 0 otherwise, 2 after a ParetonasError (one line, no traceback unless
    ``PARETONAS_DEBUG=1``), 1 after any other exception (its traceback logged: a bug), 130 or
    143 after Ctrl-C or SIGTERM (Snakemake's way to stop a job), which unwind the step like an
    error so that its temporary files and staging folders are removed."""
    log_to(log)
    logger = logging.getLogger("paretonas.step")
    name = f"{function.__module__}.{function.__qualname__}"
    logger.info("%s: started", name)  # the first and last lines time the job (tests read them)
    started = time.perf_counter()
    signal.signal(signal.SIGTERM, raise_terminated)  # a step may install its own (a worker)
    try:
        status = function(*args, **kwargs)
    except ParetonasError as exc:
        if os.environ.get("PARETONAS_DEBUG") == "1":
            logger.exception("error")
        logger.error("error: %s", exc)
        sys.exit(2)
    except KeyboardInterrupt as exc:
        signame, code = interrupt_status(exc)
        logger.error("interrupted (%s); nothing half-written was left", signame)
        sys.exit(code)
    except Exception:
        logger.exception("failed")  # a bug, not bad input: the traceback goes to the log
        sys.exit(1)
    logger.info("%s: done in %.1fs", name, time.perf_counter() - started)
    sys.exit(status if isinstance(status, int) else 0)
