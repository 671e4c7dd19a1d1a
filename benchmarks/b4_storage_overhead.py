"""B4, storage overhead: what the storage and the worker loop cost per trial, measured with a
null objective (3 suggest calls, 3 constant objective values, no work at all) and with the
real one (``--objectives real``).

The **real** arm runs the product's worker (``paretonas.search.worker.run_worker``) on the
default search space and a prepared digits dataset, with everything a trial does: ~25
suggests, the duplicate lookup, model build and cost counting, the constraint pre-filter,
per-epoch pruning decisions, the attribute writes, the F1 bootstrap, the archive (YAML,
weights, metrics.json) and the per-trial log line. Only training is replaced: ``fit`` becomes
a stub that walks the epochs (calling the pruning callback after each, with a made-up
seeded F1 curve) and returns the initial weights. What remains is the per-trial overhead;
model build and cost counting (a forward pass on the meta-free CPU path) are reported apart,
as ``build_ms``, since they grow with the model, not with the storage.

Per arm (storage x sampler x worker count) a fresh study (fresh directory for SQLite and the
journal, a fresh database on a throwaway PostgreSQL server or a fresh study name on a given
one) gets M trials from ``workers`` processes. Each process is forked from this one (imports,
and the samplers' lazy imports, already paid by a warm-up study in memory), opens the storage
as the product does (``resolve_storage`` -> StorageInfo, ``open_storage`` with the config's
heartbeat settings, ``open_worker_study`` with ``make_sampler``) and waits on a barrier; then all
run ``paretonas.search.loop.run_until_done`` at once.

Timed from the barrier's release to the end of the study's last trial (the M-th finished
trial; workers already idle then sit in the loop's end-of-study poll, up to 2 s, which is
reported apart as ``exit_s``; ``setup_s`` is fork to barrier: opening storage and study).
Two views of the same wall time:

- wall ms per trial = wall / trials: the throughput view (how fast the study fills).
- worker-ms per trial = wall x workers / trials: the cost view, the time one trial costs a
  worker in storage, sampler and loop. The goal is judged on this one: <= 20 ms per trial on
  SQLite with 2 workers and the product's default sampler (TPE as ``make_sampler`` builds it).

Samplers: ``tpe`` (what users pay; its cost grows with the trials already in the study) and
``random`` (near-free: isolates the storage and loop cost).

PostgreSQL: ``--postgres URL`` or $PARETONAS_BENCH_POSTGRES; else a throwaway server is
started with tests/services/postgres.py (needs root and Debian's postgresql); when none can
be had it is recorded as skipped with the reason. Usage::

    .venv/bin/python -m benchmarks.b4_storage_overhead [--trials 200] [--workers 1,2,8]
        [--storages sqlite,journal,postgresql] [--samplers tpe,random] [--postgres URL]
        [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna

from benchmarks.common import REPO, SPACE, write_json
from paretonas.config import validate_config
from paretonas.objectives import from_names
from paretonas.search.loop import count_outcomes, run_until_done
from paretonas.search.sampling import make_sampler
from paretonas.search.storage import StorageInfo, resolve_storage
from paretonas.search.study import StudyRecord
from paretonas.search.worker import WorkerOptions, open_worker_study

URL_ENV = "PARETONAS_BENCH_POSTGRES"
RESOLVE_ENV = "PARETONAS_B4_STORAGE_URL"  # only this script sets it, so sqlite means sqlite
GOAL_MS = 20.0
BARRIER_TIMEOUT_S = 300


def null_objective(trial: optuna.Trial) -> list[float]:
    trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    trial.suggest_int("width", 8, 64, step=8)
    trial.suggest_categorical("block", ["Conv", "DWConv", "Pass"])
    return [0.5, 1000.0, 1.0]  # f1, params, latency_ms


def warm_up(samplers: list[str]) -> None:
    """Pay one-off lazy imports (TPE's scipy paths) before forking, so no arm times them."""
    for sampler in samplers:
        config = validate_config({"search": {"sampler": sampler}})
        study = optuna.create_study(
            directions=["maximize", "minimize", "minimize"],
            sampler=make_sampler(sampler, 0, 0, config["search"]["n_startup_trials"]),
        )
        study.optimize(null_objective, n_trials=config["search"]["n_startup_trials"] + 2)


def storage_info(kind: str, directory: Path, url: str | None) -> StorageInfo:
    """The StorageInfo the product resolves: ``kind`` in ``directory``, or ``url`` from the env."""
    if url is None:
        os.environ.pop(RESOLVE_ENV, None)
        return resolve_storage(kind, directory, RESOLVE_ENV)
    os.environ[RESOLVE_ENV] = url
    try:
        return resolve_storage("sqlite", directory, RESOLVE_ENV)
    finally:
        del os.environ[RESOLVE_ENV]


def worker(config: dict, handle: StudyRecord, worker_id: int, barrier: Any, queue: Any) -> None:
    """One forked worker: open the study, wait for the start, run the loop, report times."""
    try:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = open_worker_study(handle, WorkerOptions.from_config(config), worker_id)
        search = config["search"]
        ran: list[float] = []
        barrier.wait(BARRIER_TIMEOUT_S)
        run_until_done(
            study,
            null_objective,
            search["n_trials"],
            max_failures=0,
            journal=handle.storage.kind == "journal",
            heartbeat_interval=search["heartbeat_interval"],
            grace_period=search["grace_period"],
            on_trial=lambda _study, _trial: ran.append(time.monotonic()),
        )
        exited = time.monotonic()
        queue.put(
            {
                "worker": worker_id,
                "trials": len(ran),
                "last": max(ran, default=None),
                "exited": exited,
                "states": count_outcomes(study),
            }
        )
    except BaseException as exc:
        with contextlib.suppress(Exception):
            barrier.abort()
        queue.put({"worker": worker_id, "error": f"{type(exc).__name__}: {exc}"})
        raise


def fork_and_start(
    target: Any, args: tuple, workers: int, clock: Any
) -> tuple[float, float | None, list[dict[str, Any]]]:
    """Fork ``workers`` processes running ``target(*args, worker_id, barrier, queue)``,
    release them together; (fork time, release time or None if one failed first, their
    reports)."""
    ctx = mp.get_context("fork")
    barrier, queue = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, i, barrier, queue)) for i in range(workers)]
    forked = clock()
    for proc in procs:
        proc.start()
    try:
        barrier.wait(BARRIER_TIMEOUT_S)
        start = clock()
    except Exception:
        start = None  # a worker failed before the start: its error follows
    reports = [queue.get(timeout=BARRIER_TIMEOUT_S + 600) for _ in procs]
    for proc in procs:
        proc.join()
    return forked, start, reports


def run_arm(
    kind: str,
    sampler: str,
    workers: int,
    n_trials: int,
    directory: Path,
    url: str | None,
    name: str,
) -> dict[str, Any]:
    """M trials of the null objective from ``workers`` forked processes on a fresh study."""
    config = validate_config(
        {"search": {"sampler": sampler, "n_trials": n_trials, "workers": workers}}
    )
    objectives = from_names(["f1", "params", "latency_ms"])
    info = storage_info(kind, directory, url)
    handle = StudyRecord(name, directory, info, objectives, {"seed": config["seed"]})
    forked, start, reports = fork_and_start(worker, (config, handle), workers, time.monotonic)
    errors = [f"worker {r['worker']}: {r['error']}" for r in reports if "error" in r]
    if errors or start is None:
        raise RuntimeError(f"{kind}/{sampler}/{workers}: " + "; ".join(errors))
    wall = max(r["last"] for r in reports if r["last"] is not None) - start
    # the last worker to exit counted after every other had ended its trials (a surplus one too)
    final = max(reports, key=lambda r: r["exited"])["states"]
    done = final["complete"]
    return {
        "storage": kind,
        "sampler": sampler,
        "objective": "null",
        "workers": workers,
        "trials": done,
        "fail": final["fail"],
        "running": final["running"],
        "trials_by_worker": [r["trials"] for r in sorted(reports, key=lambda r: r["worker"])],
        "setup_s": start - forked,
        "wall_s": wall,
        "exit_s": max(r["exited"] for r in reports) - start,
        "wall_ms_per_trial": 1000 * wall / done,
        "worker_ms_per_trial": 1000 * wall * workers / done,
    }


def stub_fit(
    model: Any, train: Any, val: Any, hparams: Any, *, seed=0, eval_steps=(), on_eval=None, **_
):
    """``fit`` without the training: a seeded made-up validation F1 curve, evaluation by
    evaluation (each epoch's end and each rung) through ``on_eval`` (the pruning decision),
    and the model's initial weights."""
    import math

    import numpy as np

    from paretonas.training import budget_steps
    from paretonas.training._loop import EpochRecord, FitResult, _cpu_state

    rng = np.random.default_rng(seed)
    ceiling = float(rng.uniform(0.3, 0.95))
    budget = budget_steps(hparams, len(train))
    per_epoch = math.ceil(len(train) / hparams.batch_size)
    stops = sorted({s for s in eval_steps if 0 < s < budget} | {budget})
    stops = sorted(set(stops) | set(range(per_epoch, budget, per_epoch)))
    history, reason = [], None
    for step in stops:
        f1 = ceiling * (1 - 0.5 ** (4 * step / budget))
        epoch = (step - 1) // per_epoch + 1
        history.append(EpochRecord(epoch, 1.0, 1.0, f1, f1, hparams.lr, 0.0, step))
        reason = on_eval(history[-1]) if on_eval is not None else None
        if reason is not None:
            break
    best = max(history, key=lambda record: record.val_f1)
    labels = val.labels.numpy()
    wrong = (labels + 1) % (int(labels.max()) + 1)
    predictions = np.where(rng.random(len(labels)) < best.val_f1, labels, wrong)
    return FitResult(
        history, history.index(best) + 1, best.val_f1, _cpu_state(model), predictions,
        reason is not None, reason, 0.0, 0.0, history[-1].step, budget,
    )  # fmt: skip


def real_worker(
    config: dict, study_json: Path, data_dir: Path, worker_id: int, barrier: Any, queue: Any
) -> None:
    """One forked worker running the product's worker with ``fit`` stubbed out."""
    try:
        from paretonas.search import objective as objective_module
        from paretonas.search.study import read_record
        from paretonas.search.worker import run_worker

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        build_s = [0.0]

        def timed(function):
            def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    build_s[0] += time.perf_counter() - started

            return wrapper

        objective_module.fit = stub_fit
        objective_module.build_model = timed(objective_module.build_model)
        objective_module._costs = timed(objective_module._costs)
        options = WorkerOptions.from_config(config)
        record = read_record(study_json)
        barrier.wait(BARRIER_TIMEOUT_S)
        report = run_worker(record, data_dir, worker_id, options)
        queue.put({"worker": worker_id, "trials": len(report["trials"]), "build_s": build_s[0]})
    except BaseException as exc:
        with contextlib.suppress(Exception):
            barrier.abort()
        queue.put({"worker": worker_id, "error": f"{type(exc).__name__}: {exc}"})
        raise


def real_data(temp: Path) -> Path:
    """The default config's digits data, prepared once per run."""
    from paretonas.data import prepare_data

    out = temp / "data"
    if not (out / "manifest.json").exists():
        prepare_data(validate_config({}), out)
    return out


def run_real_arm(
    kind: str, workers: int, n_trials: int, directory: Path, data_dir: Path, url: str | None
) -> dict[str, Any]:
    """M trials of the real objective (training stubbed) from ``workers`` forked workers."""
    from paretonas.search.study import open_study
    from paretonas.search.worker import start_study

    config = validate_config({"search": {"n_trials": n_trials, "workers": workers}})
    search = config["search"]
    study_json = directory / "study.json"
    if url is not None:
        os.environ[RESOLVE_ENV] = url
    try:
        record = start_study(
            study_json,
            SPACE,
            data_dir,
            objectives=search["objectives"],
            constraints=search["constraints"],
            seed=config["seed"],
            storage=kind if url is None else "sqlite",
            storage_env=RESOLVE_ENV,
        )
        _, start, reports = fork_and_start(
            real_worker, (config, study_json, data_dir), workers, time.time
        )
        errors = [f"worker {r['worker']}: {r['error']}" for r in reports if "error" in r]
        if errors or start is None:
            raise RuntimeError(f"{kind}/real/{workers}: " + "; ".join(errors))
        study = open_study(study_json)
        trials = study.get_trials(deepcopy=False)
        last = max(t.datetime_complete.timestamp() for t in trials if t.datetime_complete)
        if url is not None:
            optuna.delete_study(study_name=record.name, storage=url)
    finally:
        os.environ.pop(RESOLVE_ENV, None)
    counts = count_outcomes(study)
    done = counts["complete"] + counts["pruned"]
    wall = last - start
    build_ms = 1000 * sum(r["build_s"] for r in reports) / max(done, 1)
    worker_ms = 1000 * wall * workers / max(done, 1)
    return {
        "storage": kind,
        "sampler": search["sampler"],
        "objective": "real",
        "workers": workers,
        "trials": done,
        "pruned": counts["pruned"],
        "fail": counts["fail"],
        "running": counts["running"],
        "trials_by_worker": [r["trials"] for r in sorted(reports, key=lambda r: r["worker"])],
        "setup_s": 0.0,
        "wall_s": wall,
        "exit_s": 0.0,
        "wall_ms_per_trial": 1000 * wall / max(done, 1),
        "worker_ms_per_trial": worker_ms,
        "build_ms_per_trial": build_ms,
        "overhead_ms_per_trial": worker_ms - build_ms,
    }


def sampler_notes(arms: list[dict[str, Any]]) -> list[str]:
    """How much of the per-trial cost is the sampler's: TPE vs random, same storage and workers."""
    by_key = {
        (a["storage"], a["sampler"], a["workers"]): a for a in arms if a["objective"] == "null"
    }
    notes = []
    for (kind, sampler, workers), arm in by_key.items():
        random = by_key.get((kind, "random", workers))
        if sampler != "tpe" or random is None:
            continue
        tpe_ms, random_ms = arm["worker_ms_per_trial"], random["worker_ms_per_trial"]
        if tpe_ms > 2 * random_ms:
            notes.append(
                f"{kind}, {workers} worker(s): the sampler dominates: TPE "
                f"{tpe_ms:.1f} vs random {random_ms:.1f} worker-ms per trial"
            )
    return notes


@contextlib.contextmanager
def postgres_source(url: str | None) -> Iterator[tuple[Any, str | None, str | None]]:
    """(server or None, base URL or None, skip reason or None). A given URL is used as is
    (one fresh study per arm); else a throwaway server gives one fresh database per arm."""
    if url:
        yield None, url, None
        return
    try:
        sys.path.insert(0, str(REPO))
        from tests.services.postgres import throwaway_server, unavailable_reason

        reason = unavailable_reason()
    except Exception as exc:
        reason = f"tests.services.postgres: {type(exc).__name__}: {exc}"
    if reason:
        yield None, None, reason
        return
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(throwaway_server("paretonas-b4-pg-"))
        except Exception as exc:
            detail = getattr(exc, "stderr", "") or ""
            yield None, None, f"server did not start: {type(exc).__name__}: {exc} {detail}"
            return
        yield server, server.url, None


def arm_url(kind: str, pg: Any, label: str) -> str | None:
    """The storage URL of one arm: None for a file storage; on PostgreSQL a fresh database
    of the throwaway server, or the given server's URL (the arm uses a fresh study name)."""
    if kind != "postgresql":
        return None
    server, url = pg[0], pg[1]
    if server is None:
        return url
    database = f"b4_{label.replace('-', '_')}"
    server.sql(f"CREATE DATABASE {database} OWNER optuna")
    return url.rsplit("/", 1)[0] + f"/{database}"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, help="trials per arm (default 200; quick 20)")
    parser.add_argument(
        "--workers", help="worker counts, comma-separated (default 1,2,8; quick 1,2)"
    )
    parser.add_argument("--storages", default="sqlite,journal,postgresql")
    parser.add_argument("--samplers", default="tpe,random", help="for the null objective")
    parser.add_argument(
        "--objectives", default="null,real", help="null (3 suggests) and/or real (the worker)"
    )
    parser.add_argument("--postgres", metavar="URL", help=f"PostgreSQL URL (or ${URL_ENV})")
    parser.add_argument("--quick", action="store_true", help="smoke test: 20 trials, 1-2 workers")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    n_trials = args.trials or (20 if args.quick else 200)
    worker_counts = [
        int(w) for w in (args.workers or ("1,2" if args.quick else "1,2,8")).split(",")
    ]
    storages = args.storages.split(",")
    samplers = args.samplers.split(",")
    kinds = args.objectives.split(",")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warm_up(samplers)

    arms: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    run_id = time.strftime("%Y%m%d%H%M%S")
    with tempfile.TemporaryDirectory(prefix="paretonas-b4-") as temp:
        for kind in storages:
            pg_url = (args.postgres or os.environ.get(URL_ENV)) if kind == "postgresql" else None
            source = postgres_source(pg_url) if kind == "postgresql" else contextlib.nullcontext()
            with source as pg:
                if kind == "postgresql" and pg[2]:
                    skipped[kind] = pg[2]
                    print(f"postgresql: skipped: {pg[2]}", file=sys.stderr)
                    continue
                for sampler in samplers if "null" in kinds else []:
                    for workers in worker_counts:
                        label = f"{kind}-{sampler}-{workers}"
                        url = arm_url(kind, pg, label)
                        name = f"paretonas-b4-{run_id}-{label}"
                        directory = Path(temp) / label
                        arm = run_arm(kind, sampler, workers, n_trials, directory, url, name)
                        if kind == "postgresql" and pg[0] is None:
                            optuna.delete_study(study_name=name, storage=url)
                        print(
                            f"{label}: {arm['trials']} trials, {arm['wall_s']:.2f}s, "
                            f"{arm['worker_ms_per_trial']:.1f} worker-ms/trial",
                            file=sys.stderr,
                        )
                        arms.append(arm)
                real = "real" in kinds and not (args.quick and kind != "sqlite")  # CI: one
                for workers in worker_counts if real else []:
                    label = f"{kind}-real-{workers}"
                    url = arm_url(kind, pg, label)
                    data_dir = real_data(Path(temp))
                    arm = run_real_arm(kind, workers, n_trials, Path(temp) / label, data_dir, url)
                    print(
                        f"{label}: {arm['trials']} trials ({arm['pruned']} pruned), "
                        f"{arm['wall_s']:.2f}s, {arm['worker_ms_per_trial']:.1f} worker-ms/trial "
                        f"({arm['build_ms_per_trial']:.1f} model build and costs)",
                        file=sys.stderr,
                    )
                    arms.append(arm)

    print(f"{n_trials} trials per arm, {os.cpu_count()} CPU(s)")
    print(
        f"{'storage':<11}{'objective':<10}{'sampler':<8}{'workers':>8}{'trials':>7}{'wall s':>8}"
        f"{'wall ms/trial':>15}{'worker-ms/trial':>17}{'of it build':>13}"
    )
    for a in arms:
        print(
            f"{a['storage']:<11}{a['objective']:<10}{a['sampler']:<8}{a['workers']:>8}"
            f"{a['trials']:>7}{a['wall_s']:>8.2f}{a['wall_ms_per_trial']:>15.1f}"
            f"{a['worker_ms_per_trial']:>17.1f}{a.get('build_ms_per_trial', 0.0):>13.1f}"
        )
    for kind, reason in skipped.items():
        print(f"{kind}: skipped: {reason}")
    problems = [
        f"{a['storage']}-{a['sampler']}-{a['workers']}: {a['trials']} complete, "
        f"{a['fail']} fail, {a['running']} running"
        for a in arms
        if a["trials"] < n_trials or a["fail"] or a["running"]
    ]
    for problem in problems:
        print(f"PROBLEM: {problem}")

    notes = sampler_notes(arms)
    for note in notes:
        print(f"note: {note}")
    goal_kind = "real" if "real" in kinds else "null"
    goal_sampler = "tpe" if goal_kind == "real" or "tpe" in samplers else samplers[0]
    goal_field = "overhead_ms_per_trial" if goal_kind == "real" else "worker_ms_per_trial"
    judged = [
        a
        for a in arms
        if (a["storage"], a["objective"], a["sampler"], a["workers"])
        == ("sqlite", goal_kind, goal_sampler, 2)
    ]
    measured = judged[0][goal_field] if judged else float("nan")
    result = {
        "benchmark": "b4_storage_overhead",
        "config": {
            "trials": n_trials,
            "workers": worker_counts,
            "storages": storages,
            "samplers": samplers,
            "objectives": kinds,
            "quick": args.quick,
            "cpus": os.cpu_count(),
            "optuna": optuna.__version__,
            "postgres_source": (
                "given URL" if args.postgres or os.environ.get(URL_ENV) else "throwaway server"
            ),
        },
        "arms": arms,
        "skipped": skipped,
        "problems": problems,
        "notes": notes,
        "goal": {
            "target": f"sqlite, 2 workers, {goal_kind} objective, {goal_sampler}: worker-ms "
            f"per trial (wall x workers / trials"
            f"{', less model build and costs' if goal_kind == 'real' else ''}) <= {GOAL_MS:g}",
            "measured": measured,
            "met": bool(judged) and measured <= GOAL_MS and not problems,
        },
    }
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    outcome = main()
    sys.exit(1 if outcome["problems"] else 0)
