"""A single-node SLURM cluster on localhost for tests: munged, slurmctld, slurmd.

No systemd, no cgroups (``proctrack/linuxproc``, ``task/none``) and no accounting daemon:
the profile checks job states with ``squeue`` (see profiles/slurm/config.yaml). Debian's
``slurmctld slurmd slurm-client munge`` are installed by `.ci/run`; without them, or without
root, tests that need the cluster skip with that reason (fail when PARETONAS_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.services._require import require

START_TIMEOUT_S = 60
SLURM_CONF = Path("/etc/slurm/slurm.conf")


def unavailable_reason() -> str | None:
    for tool in ("slurmctld", "slurmd", "sbatch", "squeue", "munged"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is missing (apt-get install slurmctld slurmd slurm-client munge)"
    if os.geteuid() != 0:
        return "starting slurmctld/slurmd/munged needs root"
    if plugin_path() is None:
        return (
            "snakemake-executor-plugin-slurm is not installed (make setup-slurm, or make test "
            "installs it for this test into .slurm-plugin/)"
        )
    return None


def plugin_path() -> str | None:
    """Where Snakemake finds the SLURM executor plugin: "" when it is in this environment
    (``make setup-slurm``), else the folder ``make test`` installs it into for this test alone
    (``PARETONAS_SLURM_PLUGIN_PATH``; it is kept out of .venv because, once importable, the
    plugin runs ``scontrol`` with a 10 s timeout at every Snakemake start on a host with SLURM
    clients and no controller); None when neither has it."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None:
        return ""
    folder = os.environ.get("PARETONAS_SLURM_PLUGIN_PATH", "")
    if folder and (Path(folder) / "snakemake_executor_plugin_slurm").is_dir():
        return folder
    return None


def node_memory_mb() -> int:
    """What the node offers: most of the machine's memory (a request above it is refused)."""
    with open("/proc/meminfo", encoding="utf-8") as handle:
        total_kb = int(handle.readline().split()[1])
    return max(1000, int(total_kb / 1024 * 0.8))


class SlurmCluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobcomp = root / "log" / "jobcomp.txt"

    def config(self) -> str:
        r = self.root
        return f"""ClusterName=paretonas-test
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
MinJobAge=300
KillWait=10
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
NodeName=localhost CPUs={os.cpu_count()} RealMemory={node_memory_mb()} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""

    def start(self) -> SlurmCluster:
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        key = Path("/etc/munge/munge.key")
        if not key.exists() or key.stat().st_size == 0:
            subprocess.run(["mungekey", "--create"], check=True, timeout=30)
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        if not Path("/run/munge/munged.pid").exists():
            subprocess.run(
                ["runuser", "-u", "munge", "--", "/usr/sbin/munged"], check=True, timeout=30
            )
        SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SLURM_CONF.write_text(self.config())
        subprocess.run(["slurmctld"], check=True, timeout=30)
        subprocess.run(["slurmd", "-N", "localhost"], check=True, timeout=30)
        deadline = time.time() + START_TIMEOUT_S
        while time.time() < deadline:
            state = subprocess.run(
                ["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
            if state == "idle":
                return self
            time.sleep(0.5)
        raise RuntimeError(f"SLURM node never became idle; see {self.root}/log")

    def stop(self) -> None:
        """Never hangs: scontrol shutdown, then SIGKILL by pid whatever is left."""
        with contextlib.suppress(Exception):
            subprocess.run(["scontrol", "shutdown"], timeout=15, capture_output=True)
        for pid_file in (
            self.root / "slurmctld.pid",
            self.root / "slurmd.pid",
            Path("/run/munge/munged.pid"),
        ):
            with contextlib.suppress(Exception):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
            pid_file.unlink(missing_ok=True)

    def completed_jobs(self) -> list[dict[str, str]]:
        """Finished jobs from the job completion log (no slurmdbd needed)."""
        if not self.jobcomp.exists():
            return []
        jobs = []
        for line in self.jobcomp.read_text().splitlines():
            fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
            jobs.append(fields)
        return jobs


@pytest.fixture(scope="session")
def slurm():
    require("SLURM", unavailable_reason())
    root = Path(tempfile.mkdtemp(prefix="paretonas-slurm-"))
    cluster = SlurmCluster(root)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
