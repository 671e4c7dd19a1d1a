"""What a workflow run should take here, stage by stage: the search from the calibration
(``paretonas.search.calibrate``) and the trial budget, the stages around it from the same
step and evaluation times, and a measured job start for every job on the critical path.
``paretonas init`` prints it and writes it into the config's ``estimate`` section;
``paretonas.timing`` sets the actual times beside it.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from paretonas.search.calibrate import Calibration

PROFILE_ROUND_SECONDS = 0.002  # the profile step runs each model ~2 ms a round
# the study, snapshot, select and report jobs' own work, besides starting them
BOOKKEEPING_SECONDS = 30.0
# Jobs one after another on the workflow's critical path (snakemake itself, prepare-data,
# study, worker, snapshot, profile, select, finalize, report): each starts a Python that
# imports torch, timed once here (``job_start_seconds``).
CRITICAL_PATH_JOBS = 9
EXPORT_SECONDS = 10.0  # TorchScript + ONNX export and the onnxruntime check of one finalist


@dataclass
class Estimate:
    """Seconds each stage should take here (see ``Calibration`` for how it was measured)."""

    data: float
    search: float
    profile: float
    finalize: float
    bookkeeping: float = BOOKKEEPING_SECONDS

    @property
    def total(self) -> float:
        return self.data + self.search + self.profile + self.finalize + self.bookkeeping

    def to_config(self) -> dict[str, float]:
        """The config's ``estimate`` section (seconds, rounded)."""
        stages = ("data", "search", "profile", "finalize", "bookkeeping")
        return {"total": round(self.total), **{k: round(getattr(self, k)) for k in stages}}


def job_start_seconds() -> float:
    """Seconds to start a Python that imports what a workflow job imports (torch, Optuna, the
    package): every job pays it before its work starts."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import paretonas.search.worker, paretonas.finalize"],
        check=False,
        capture_output=True,
        timeout=300,
    )
    return time.perf_counter() - started


def estimate_seconds(
    calibration: Calibration,
    splits: dict[str, int],
    steps: int,
    batch: float,
    n_trials: int,
    workers: int,
    cores: int,
    defaults: dict[str, Any],
    data_seconds: float,
    job_start: float = 0.0,
    finalize: dict[str, Any] | None = None,
) -> Estimate:
    """Each stage's time from the calibration: trials in waves of ``workers``; the finalists
    (``select.k``) and the baseline CNN (one thread each, in waves over ``cores``) retrain
    for ``finalize.epochs`` on full/train, evaluated every epoch on full/val, and the
    finalists are exported; ``job_start`` for each job on the critical path."""
    per_epoch = math.ceil(splits["search/train"] / batch)
    trial = calibration.trial_seconds(steps, per_epoch, splits["search/val"])
    finalize = finalize or defaults["finalize"]
    full_per_epoch = math.ceil(splits["full/train"] / batch)
    final_steps = finalize["steps"] or finalize["epochs"] * full_per_epoch
    evaluations = math.ceil(final_steps / full_per_epoch)
    k = defaults["select"]["k"]
    one_finalist = (
        final_steps * calibration.step_seconds
        + (evaluations * splits["full/val"] + splits["full/test"]) * calibration.eval_image_seconds
        + (EXPORT_SECONDS if finalize.get("export", True) else 0.0)
    )
    profile = defaults["profile"]
    return Estimate(
        data=data_seconds,
        search=math.ceil(n_trials / workers) * trial,
        profile=profile["max_models"] * profile["rounds"] * PROFILE_ROUND_SECONDS,
        finalize=math.ceil((k + 1) / max(1, cores)) * one_finalist,
        bookkeeping=BOOKKEEPING_SECONDS + CRITICAL_PATH_JOBS * job_start,
    )


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return "<1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
