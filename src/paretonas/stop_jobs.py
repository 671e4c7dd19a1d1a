"""Stopping Snakemake stops its jobs: SIGTERM to Snakemake is passed on to the processes the
jobs run.

Snakemake takes SIGTERM as "start no new job, wait for the running ones to finish" and signals
none of them. Its local jobs are its child processes (a ``script:`` rule runs through a shell),
so a SIGTERM sent to Snakemake's process alone (``kill PID``, ``timeout --foreground``, a
container stop) left the search workers running until the study was done: minutes or hours.
A signal to the whole process group (Ctrl-C in a terminal, ``timeout`` without
``--foreground``) reaches them directly; then this adds a second, which they ignore.

:func:`forward_sigterm_to_jobs` (called from the workflow's ``onstart``, once Snakemake has
installed its own handler) wraps that handler: it first sends SIGTERM to each process below
Snakemake, once, whose job then ends as it does on SIGTERM (a search worker fails and re-queues
its running trial; other steps remove what they had half-written) and exits 143; then
Snakemake's handler runs and Snakemake exits once they have ended.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

_logger = logging.getLogger(__name__)

# The shells Snakemake runs jobs through: one seen with a child is never signalled, so that it
# waits for its job's cleanup and passes the job's exit status on to Snakemake.
SHELLS = frozenset({"bash", "sh", "dash", "zsh"})
# How long jobs that Snakemake had already handed to a thread when the signal came (and that
# start a moment later) are looked for and signalled too.
SWEEP_SECONDS = 10.0
SWEEP_INTERVAL = 0.5


def forward_sigterm_to_jobs() -> None:
    """Wrap the current SIGTERM handler (Snakemake's) so that SIGTERM reaches the jobs first.
    Call it from the main thread (``onstart`` runs there)."""
    previous = signal.getsignal(signal.SIGTERM)
    handled: set[int] = set()

    def handler(signum: int, frame: Any) -> None:
        count = signal_jobs(handled)
        _logger.warning("SIGTERM: passed on to %d job process(es), which stop now", count)
        threading.Thread(target=_sweep, args=(handled,), daemon=True).start()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:  # the default action: end this process
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, handler)


def signal_jobs(handled: set[int], signum: int = signal.SIGTERM) -> int:
    """Send ``signum`` once to every process below this one that is not in ``handled``, except
    a shell with a child (it exits with its job, passing on the job's status); add each to
    ``handled``. Returns how many were signalled."""
    import psutil  # installed with Snakemake, the only caller

    count = 0
    for process in psutil.Process().children(recursive=True):
        if process.pid in handled:
            continue
        try:
            if process.name() in SHELLS and process.children():
                handled.add(process.pid)  # never signalled, even once its job has ended
                continue
            process.send_signal(signum)
        except psutil.Error:  # it ended meanwhile
            continue
        handled.add(process.pid)
        count += 1
    return count


def _sweep(handled: set[int]) -> None:
    """Signal jobs that start after the handler ran (already handed to a thread by then)."""
    deadline = time.monotonic() + SWEEP_SECONDS
    while time.monotonic() < deadline:
        time.sleep(SWEEP_INTERVAL)
        signal_jobs(handled)
