"""What a model costs: parameters, MACs and CPU latency (the search's zero-cost objectives).

Counts, not a profiler: parameters and MACs are exact functions of the network; latency is a
measurement and says how it was taken (``Latency``)."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those that require grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass at batch 1: FlopCounterMode's FLOPs / 2.

    ``input_shape`` is (C, H, W) without the batch dimension. Counts convolutions and matrix
    products (what FlopCounterMode knows); element-wise ops and normalization are not MACs.
    """
    return forward_counts(model, input_shape).macs


@dataclass(frozen=True)
class ForwardCounts:
    """What one batch-1 forward pass does: MACs, leaf modules run, elements they output."""

    macs: int
    modules: int
    elements: int


def forward_counts(model: nn.Module, input_shape: tuple[int, ...]) -> ForwardCounts:
    """One batch-1 forward pass in eval mode, counted (nothing is timed)."""
    counted = {"modules": 0, "elements": 0}

    def hook(module: nn.Module, inputs: object, output: torch.Tensor) -> None:
        counted["modules"] += 1
        counted["elements"] += output.numel() if isinstance(output, torch.Tensor) else 0

    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return ForwardCounts(counter.get_total_flops() // 2, counted["modules"], counted["elements"])


# The search's latency estimate: a linear model of batch-1, one-thread CPU latency in the
# counts of one forward pass (nn-Meter's idea without its kernel detection). Fitted by
# non-negative least squares on relative error to 120 random models of the default space at
# 1x8x8, 1x28x28 and 3x32x32, each timed by ``measure_latencies`` (2026-12-01, 2-core AMD
# EPYC VM, torch 2.13.0+cpu): median relative error 13%, Spearman rank correlation 0.92.
# Constants, so the estimate is the same on every run and machine (the search replays); the
# profile step measures the real figure of the front on the machine at hand.
ESTIMATE_MS_PER_MMAC = 0.01128
ESTIMATE_MS_PER_MODULE = 0.01001
ESTIMATE_MS_PER_KELEMENT = 0.00039


def estimate_latency_ms(counts: ForwardCounts) -> float:
    """Estimated CPU latency (ms, batch 1, one thread) from ``forward_counts``: deterministic,
    an estimate and labelled as one wherever it is shown."""
    return round(
        ESTIMATE_MS_PER_MMAC * counts.macs / 1e6
        + ESTIMATE_MS_PER_MODULE * counts.modules
        + ESTIMATE_MS_PER_KELEMENT * counts.elements / 1e3,
        5,
    )


@dataclass(frozen=True)
class Latency:
    """CPU latency of one batch-1 forward pass, and how it was measured.

    ``ms`` is the 10th percentile of the per-call time over ``rounds`` short rounds: on shared
    VMs the per-round time is bimodal (a slow mode when a neighbour is busy), so a median flips
    between modes from run to run while a low percentile stays on the fast one (three processes
    agreed within 2%). ``low_ms``/``high_ms`` are the 5th and 50th percentiles: the interval
    the figure comes from."""

    ms: float
    low_ms: float
    high_ms: float
    min_ms: float
    rounds: int
    calls_per_round: int
    threads: int
    method: str

    def to_dict(self) -> dict:
        return asdict(self)


LATENCY_PERCENTILE = 10


def measure_latency(
    model: nn.Module,
    input_shape: tuple[int, ...],
    rounds: int = 60,
    round_s: float = 0.002,
    warmup_s: float = 0.05,
    threads: int = 1,
) -> Latency:
    """CPU latency of one model (see ``measure_latencies`` for how)."""
    return measure_latencies([model], [input_shape], rounds, round_s, warmup_s, threads)[0]


def measure_latencies(
    models: Sequence[nn.Module],
    input_shapes: Sequence[tuple[int, ...]],
    rounds: int = 150,
    round_s: float = 0.002,
    warmup_s: float = 0.05,
    threads: int = 1,
    min_seconds: float = 0.0,
) -> list[Latency]:
    """Time eager ``models`` (batch 1, eval mode, no grad, each at its input shape) with
    ``time_calls``; each model's training flag is restored afterwards."""
    modes = [m.training for m in models]
    calls = []
    for model, shape in zip(models, input_shapes, strict=True):
        model.eval()
        calls.append(functools.partial(_forward, model, torch.zeros(1, *shape)))
    try:
        return time_calls(calls, rounds, round_s, warmup_s, threads, min_seconds)
    finally:
        for model, mode in zip(models, modes, strict=True):
            model.train(mode)


def _forward(model: nn.Module, x: torch.Tensor) -> object:
    return model(x)


def time_calls(
    calls: Sequence[Callable[[], object]],
    rounds: int = 150,
    round_s: float = 0.002,
    warmup_s: float = 0.05,
    threads: int = 1,
    min_seconds: float = 0.0,
    between_rounds: Callable[[int], None] | None = None,
) -> list[Latency]:
    """Time ``calls`` (each one batch-1 inference, in any runtime) interleaved: round after
    round, each runs for about ``round_s`` (a call count fixed during warm-up), the start
    rotating each round, so that whatever the machine does in between affects every call
    alike. At least ``rounds`` rounds, more when they would last under ``min_seconds`` (a
    burst of load on a shared machine then covers a smaller share of them). ``threads``
    torch threads, under inference mode; ``between_rounds(r)`` runs before round ``r``
    (untimed). Returns one ``Latency`` per call, in order."""
    if rounds < 20:
        raise ValueError(f"{rounds=} must be >= 20 for a stable low percentile")
    rounds = max(rounds, math.ceil(min_seconds / (max(len(calls), 1) * round_s)))
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    counts: list[int] = []
    try:
        with torch.inference_mode():
            for call in calls:
                counts.append(_calls_per_round(call, round_s, warmup_s))
            samples: list[list[float]] = [[] for _ in calls]
            order = list(range(len(calls)))
            for r in range(rounds):
                if between_rounds is not None:
                    between_rounds(r)
                for i in order[r % len(order) :] + order[: r % len(order)]:
                    call, n = calls[i], counts[i]
                    started = time.perf_counter()
                    for _ in range(n):
                        call()
                    samples[i].append((time.perf_counter() - started) / n)
    finally:
        torch.set_num_threads(previous_threads)
    method = (
        f"p{LATENCY_PERCENTILE} of {rounds} interleaved rounds of ~{round_s * 1e3:g} ms, "
        f"batch 1, {threads} thread(s)"
    )
    out = []
    for times, n in zip(samples, counts, strict=True):
        ms = np.percentile(np.array(times) * 1e3, [LATENCY_PERCENTILE, 5, 50])
        out.append(
            Latency(
                ms=round(float(ms[0]), 5),
                low_ms=round(float(ms[1]), 5),
                high_ms=round(float(ms[2]), 5),
                min_ms=round(min(times) * 1e3, 5),
                rounds=rounds,
                calls_per_round=n,
                threads=threads,
                method=method,
            )
        )
    return out


def _calls_per_round(call: Callable[[], object], round_s: float, warmup_s: float) -> int:
    """Warm ``call`` up for ``warmup_s``; the call count that lasts about ``round_s``."""
    calls, elapsed = 1, 0.0
    while True:
        started = time.perf_counter()
        for _ in range(calls):
            call()
        elapsed = time.perf_counter() - started
        if elapsed >= warmup_s:
            break
        calls *= 2
    return max(1, round(round_s / (elapsed / calls)))
