"""SIGTERM to a process that ran forward_sigterm_to_jobs reaches its jobs: a stand-in for
Snakemake (a handler that only records the signal, as Snakemake's "graceful" one does) runs a
job through a shell, as a `script:` rule does; the real workflow is
tests/hostile/test_config_and_stop.py::test_case_1_..."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")  # installed with Snakemake, the only caller

PARENT = """
import signal, subprocess, sys, time
from paretonas.stop_jobs import forward_sigterm_to_jobs
seen = []
signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))  # Snakemake's: wait
forward_sigterm_to_jobs()
job = subprocess.Popen(["bash", "-c", "set -euo pipefail; sleep 300; echo never"])
print("started", flush=True)
status = job.wait()
print(f"job exited {status}; parent handler saw {seen}", flush=True)
"""


def test_sigterm_reaches_the_job_and_the_shell_passes_its_status_on(tmp_path: Path):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert parent.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 30
    while not [
        p for p in psutil.Process(parent.pid).children(recursive=True) if p.name() == "sleep"
    ]:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    started = time.monotonic()
    parent.send_signal(signal.SIGTERM)
    out, err = parent.communicate(timeout=30)
    assert time.monotonic() - started < 10, "the job ran on"
    assert parent.returncode == 0, err
    # the shell was not signalled: it saw its job end by SIGTERM and exited 128 + 15
    assert out.strip().splitlines()[-1] == "job exited 143; parent handler saw [15]", out
    assert "passed on to 1 job process(es)" in err
