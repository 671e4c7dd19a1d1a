"""What a model costs: parameters, MACs and CPU latency (the search's zero-cost objectives).

Counts, not a profiler: parameters and MACs are exact functions of the network; latency is a
measurement and says how it was taken (``Latency``)."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils import benchmark
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those that require grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass at batch 1: FlopCounterMode's FLOPs / 2.

    ``input_shape`` is (C, H, W) without the batch dimension. Counts convolutions and matrix
    products (what FlopCounterMode knows); element-wise ops and normalization are not MACs.
    """
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


@dataclass(frozen=True)
class Latency:
    """Median wall time of one batch-1 forward pass, and how it was measured."""

    median_ms: float
    iqr_ms: float
    runs: int
    calls_per_run: int
    threads: int

    def to_dict(self) -> dict:
        return asdict(self)


def measure_latency(
    model: nn.Module,
    input_shape: tuple[int, ...],
    runs: int = 30,
    warmup_s: float = 0.05,
    min_run_s: float = 0.002,
    threads: int = 1,
) -> Latency:
    """CPU latency of ``model`` at batch 1 in eval mode with ``threads`` torch threads.

    After a warm-up, ``runs`` (>= 20) timed runs each call the model often enough to last
    ``min_run_s`` (so sub-millisecond models are not timer noise); returns the median per call.
    """
    if runs < 20:
        raise ValueError(f"{runs=} must be >= 20 for a stable median")
    was_training = model.training
    model.eval()
    x = torch.zeros(1, *input_shape)
    timer = benchmark.Timer(
        stmt="model(x)",
        setup="",
        globals={"model": model, "x": x},
        num_threads=threads,
    )
    try:
        with torch.no_grad():
            calls, elapsed = 1, timer.timeit(1).median
            while elapsed < warmup_s:  # warm-up, and find a call count per run
                calls *= 2
                elapsed = timer.timeit(calls).median * calls
            per_call = elapsed / calls
            calls = max(1, int(min_run_s / max(per_call, 1e-9)))
            times = [timer.timeit(calls).median for _ in range(runs)]
    finally:
        model.train(was_training)
    q1, _, q3 = statistics.quantiles(times, n=4)
    return Latency(
        median_ms=statistics.median(times) * 1e3,
        iqr_ms=(q3 - q1) * 1e3,
        runs=runs,
        calls_per_run=calls,
        threads=threads,
    )
