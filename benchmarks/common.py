"""What the search benchmarks (B1, B6) share: the machine, MNIST-10k data, a 2-D
hypervolume, and running one search "arm" for a fixed wall budget.

The hypervolume is that of (validation error, params), both minimized, normalized by the
reference point (error 1.0, params ``PARAMS_REF``): the area dominated by a set of trials
inside the unit square. ``PARAMS_REF`` is also the pre-filter's ``params_max`` in the
paretonas arms: the user's stated size budget, so a model past it adds nothing to anyone's
hypervolume and paretonas need not train it.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO / "data" / "mnist-t10k"
SPACE = REPO / "config" / "search_space.yaml"
PARAMS_REF = 50_000
MNIST_SEARCH_FRACTION = 0.2  # 1,400 train / 200 val images, as config/mnist.yaml


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory, versions and the date: the context of every figure."""
    import torch

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def write_json(path: str | os.PathLike | None, data: Any) -> None:
    """Atomically write ``data`` as JSON (temp file + rename); no-op for ``None``."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as out:
        try:
            json.dump(data, out, indent=2, default=str)
            out.write("\n")
        except BaseException:
            out.close()
            os.unlink(out.name)
            raise
    os.replace(out.name, path)


def prepare_mnist(cache: Path, search_fraction: float = MNIST_SEARCH_FRACTION) -> Path:
    """MNIST-10k prepared once under ``cache`` (re-used while the manifest exists)."""
    from paretonas.config import validate_config
    from paretonas.data import prepare_data

    out = cache / f"mnist-{search_fraction}"
    if not (out / "manifest.json").is_file():
        config = {"data": {"source": "idx", "path": str(MNIST), "search_fraction": search_fraction}}
        prepare_data(validate_config(config), out)
    return out


DATASETS = ("mnist", "digits")


def prepare_dataset(name: str, cache: Path) -> Path:
    """A benchmark's data, prepared once under ``cache``: ``mnist`` (MNIST-10k, 28x28, the
    search split of ``config/mnist.yaml``) or ``digits`` (the embedded default, 8x8, the
    default config's splits: ~10x cheaper a step, so a short arm holds many trials)."""
    if name == "mnist":
        return prepare_mnist(cache)
    from paretonas.config import validate_config
    from paretonas.data import prepare_data

    out = cache / "digits"
    if not (out / "manifest.json").is_file():
        prepare_data(validate_config({"data": {"source": "digits"}}), out)
    return out


def space_with(path: Path, epochs: int | None = None, steps: int | None = None) -> Path:
    """A copy of the default search space next to ``path`` (optionally another fixed budget:
    ``epochs``, or ``steps``)."""
    space = yaml.safe_load(SPACE.read_text())
    if epochs is not None:
        space["hparams"].pop("steps", None)
        space["hparams"]["epochs"] = epochs
    if steps is not None:
        space["hparams"]["steps"] = steps
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    return path


def hypervolume(points: Iterable[tuple[float, float]]) -> float:
    """Area dominated by ``points`` (both coordinates minimized) inside [0, 1]², reference
    point (1, 1), by the product's own ``paretonas.pareto.hypervolume``."""
    from paretonas import pareto

    return pareto.hypervolume(np.array(list(points), dtype=float).reshape(-1, 2))


def normalized(trial: dict[str, Any]) -> tuple[float, float]:
    """A trial record's (error, params / PARAMS_REF)."""
    return 1.0 - trial["f1"], trial["params"] / PARAMS_REF


def hv_curve(trials: list[dict[str, Any]], budget_s: float) -> list[tuple[float, float]]:
    """(seconds, hypervolume of the trials completed by then), one step per completed trial."""
    done = sorted((t for t in trials if t["t"] <= budget_s), key=lambda t: t["t"])
    curve, points = [(0.0, 0.0)], []
    for trial in done:
        points.append(normalized(trial))
        curve.append((trial["t"], hypervolume(points)))
    return curve


def hv_at(curve: list[tuple[float, float]], seconds: float) -> float:
    return max((hv for t, hv in curve if t <= seconds), default=0.0)


def time_to_reach(curve: list[tuple[float, float]], target: float) -> float | None:
    """First time the curve reaches ``target`` (within 1e-12), or None."""
    return next((t for t, hv in curve if hv >= target - 1e-12), None)


def paretonas_config(
    results: Path,
    space: Path,
    *,
    seed: int,
    workers: int,
    pruning: bool | str,
    sampler: str = "tpe",
    prefilter: bool = True,
    rule: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The workflow config of a paretonas arm: objectives F1, params, latency (the defaults),
    size budget as the pre-filter, a study target no arm reaches (the wall budget ends it)."""
    return {
        "seed": seed,
        "results_dir": str(results),
        "search": {
            "space": str(space),
            "n_trials": 100_000,
            "workers": workers,
            "sampler": sampler,
            "constraints": {"params_max": PARAMS_REF if prefilter else None},
            "max_failures": 1000,
        },
        "pruning": {"mode": pruning_mode(pruning), **(rule or {})},
    }


def pruning_mode(pruning: bool | str) -> str:
    """``pruning.mode`` for an arm: True is prune, False off, a string is the mode."""
    if isinstance(pruning, str):
        return pruning
    return "prune" if pruning else "off"


def run_paretonas_arm(
    out: Path,
    data: Path,
    space: Path,
    budget_s: float,
    *,
    seed: int,
    workers: int = 2,
    pruning: bool | str = True,
    sampler: str = "tpe",
    prefilter: bool = True,
    rule: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Start ``workers`` `paretonas search-worker` processes on one fresh study, SIGTERM them
    at ``budget_s`` (the product's own clean stop) and return the trial records, timed from
    the launch (Python and torch start-up included, as a user pays them)."""
    from paretonas.cli.search_study import start_from_config
    from paretonas.cli.search_worker import command as worker_command
    from paretonas.config import validate_config
    from paretonas.search.study import open_study

    config = validate_config(
        paretonas_config(
            out / "results",
            space,
            seed=seed,
            workers=workers,
            pruning=pruning,
            sampler=sampler,
            prefilter=prefilter,
            rule=rule,
        )
    )
    config_path = out / "config.yaml"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    study_json = out / "results" / "search" / "study.json"
    started = time.time()
    start_from_config(config, study_json, data)  # the workflow's search_study step
    procs = []
    for worker in range(workers):
        log = (out / f"worker{worker}.log").open("w")
        procs.append(
            subprocess.Popen(
                worker_command(config_path, study_json, data, worker),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        while time.time() - started < budget_s and any(p.poll() is None for p in procs):
            time.sleep(0.2)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    study = open_study(study_json)
    return {
        "trials": study_trials(study, started),
        "wall_s": time.time() - started,
        "workers": workers,
        "pruning": pruning,
        "sampler": sampler,
    }


def study_trials(study: Any, started: float) -> list[dict[str, Any]]:
    """Every trial as a record: state, completion time since ``started``, F1 and params."""
    from optuna.trial import TrialState

    from paretonas.search import attrs

    records = []
    for trial in study.get_trials(deepcopy=False):
        if trial.datetime_complete is None:
            continue
        infeasible = attrs.is_infeasible(trial)
        record = {
            "number": trial.number,
            "state": trial.state.name.lower(),
            "t": trial.datetime_complete.timestamp() - started,
            "seconds": trial.duration.total_seconds() if trial.duration else 0.0,
            "infeasible": infeasible,
        }
        if trial.state == TrialState.COMPLETE and not infeasible:
            record.update(f1=trial.values[0], params=int(trial.values[1]))
        records.append(record)
    return records


def scored(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records that count for the hypervolume: trained and completed."""
    return [t for t in trials if "f1" in t]


def arm_summary(trials: list[dict[str, Any]], budget_s: float) -> dict[str, Any]:
    """What both B1 and B6 report of an arm, counting only trials done within the budget:
    hypervolume curve and final value, trials per state (pre-filtered ones as infeasible)."""
    within = [t for t in trials if t["t"] <= budget_s]
    curve = hv_curve(scored(within), budget_s)
    states: dict[str, int] = {}
    for trial in within:
        state = "infeasible" if trial.get("infeasible") else trial["state"]
        states[state] = states.get(state, 0) + 1
    return {"hv": hv_at(curve, budget_s), "curve": curve, "states": states, "within": within}
