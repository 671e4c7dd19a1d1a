"""How fast the host is right now, for the profile step: which CPU to pin to, and how much
slower than its recorded quiet speed it runs.

Which CPU: each CPU this process may use runs the reference network in interleaved rounds
of ~10 ms (longer than a scheduler slice, so a CPU shared with a busy process shows up as
the share of time it leaves), and the one with the fastest median round wins. Pinning to a
fixed CPU (the last one, say) takes whatever else runs there.

How much slower: a slowdown common to every model (another tenant's load on the host, a
lower clock) keeps the rounds steady, so p10/min cannot see it. The reference network, timed
in the same rounds as the candidates, sees it: the machine baseline records the fastest
reference figure seen on this host in this runtime (a per-host key in one JSON file), and a
run's ``slowdown`` is its reference figure over that baseline. The fastest figure is kept
because a quiet host is as fast as the host gets, so a baseline first recorded under load
is replaced by the next quiet run.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from paretonas.errors import ConfigError
from paretonas.yamlio import atomic_write_text

PROBE_ROUND_S = 0.010  # longer than a scheduler slice: a shared CPU loses whole slices
PROBE_SECONDS = 1.5  # spread over the CPUs, at least PROBE_MIN_ROUNDS rounds each
PROBE_MIN_ROUNDS = 5


def choose_cpu(call: Callable[[], object]) -> tuple[int | None, dict[int, float]]:
    """Pin this thread to the CPU where ``call`` runs fastest (median of interleaved ~10 ms
    rounds) and return it with each CPU's median ms per call; (None, {}) where the OS has no
    affinity call. Threads started afterwards (none with one torch/ORT thread) inherit it."""
    if not hasattr(os, "sched_setaffinity"):
        return None, {}
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) == 1:
        return cpus[0], {}
    calls = _calls_in(call, PROBE_ROUND_S)
    rounds = max(PROBE_MIN_ROUNDS, round(PROBE_SECONDS / (len(cpus) * PROBE_ROUND_S)))
    samples: dict[int, list[float]] = {cpu: [] for cpu in cpus}
    for r in range(rounds):
        for cpu in cpus[r % len(cpus) :] + cpus[: r % len(cpus)]:
            os.sched_setaffinity(0, {cpu})
            started = time.perf_counter()
            for _ in range(calls):
                call()
            samples[cpu].append((time.perf_counter() - started) / calls * 1e3)
    medians = {cpu: round(float(np.median(times)), 5) for cpu, times in samples.items()}
    best = min(cpus, key=lambda cpu: medians[cpu])
    os.sched_setaffinity(0, {best})
    return best, medians


@contextlib.contextmanager
def pinned_to_fastest_cpu(
    call: Callable[[], object],
) -> Iterator[tuple[int | None, dict[int, float]]]:
    """``choose_cpu`` for the duration; the thread's CPUs as they were afterwards (a caller
    that goes on, and the processes it starts, keep every CPU)."""
    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        yield choose_cpu(call)
    finally:
        if before is not None:
            os.sched_setaffinity(0, before)


def _calls_in(call: Callable[[], object], seconds: float) -> int:
    """Warm ``call`` up; how many calls last about ``seconds``."""
    calls = 1
    while True:
        started = time.perf_counter()
        for _ in range(calls):
            call()
        elapsed = time.perf_counter() - started
        if elapsed >= seconds / 2:
            return max(1, round(calls * seconds / elapsed))
        calls *= 2


def host_key(runtime: str, library: str) -> str:
    """The baseline's key: host name, CPU model, runtime and its library version (a figure
    holds only on the same machine and software)."""
    from paretonas.hardware import fingerprint

    return f"{platform.node()} | {fingerprint()['cpu']} | {runtime} | {library}"


def read_baselines(path: str | os.PathLike) -> dict[str, Any]:
    """The recorded baselines (host key -> record); {} when the file does not exist yet."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot read the machine baseline: {exc} (delete the file to record "
            f"a new one on the next profile)"
        ) from None
    hosts = data.get("hosts") if isinstance(data, dict) else None
    if not isinstance(hosts, dict):
        got = f"hosts: {hosts!r}"[:80] if isinstance(data, dict) else type(data).__name__
        raise ConfigError(
            f"{path}: expected {{'hosts': {{host key: record}}}}; got {got} (delete the file "
            f"to record a new one on the next profile)"
        )
    return hosts


def compare_to_baseline(
    path: str | os.PathLike | None, key: str, reference_ms: float
) -> dict[str, Any]:
    """This run's reference figure against the baseline of ``key`` in ``path``; records it
    (atomically) when it is the first or the fastest. Returns the record profile.json keeps:
    ``baseline_ms``, ``slowdown`` (reference / baseline, >= 1) and ``scale`` (baseline /
    reference: what turns this run's figures into the host's quiet speed)."""
    if path is None:
        return {"baseline": None, "baseline_ms": None, "slowdown": None, "scale": 1.0}
    hosts = read_baselines(path)
    known = hosts.get(key)
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    if not isinstance(known, dict) or not known.get("reference_ms", 0) > 0:
        known = None
    if known is None or reference_ms < known["reference_ms"]:
        hosts[key] = {"reference_ms": reference_ms, "recorded": now}
        atomic_write_text(path, json.dumps({"hosts": hosts}, indent=2, sort_keys=True) + "\n")
        baseline = reference_ms
    else:
        baseline = float(known["reference_ms"])
    return {
        "baseline": str(path),
        "baseline_key": key,
        "baseline_ms": baseline,
        "baseline_recorded": hosts[key]["recorded"],
        "slowdown": round(reference_ms / baseline, 4),
        "scale": round(baseline / reference_ms, 5),
    }
