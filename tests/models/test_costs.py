"""Costs of a model: counts of one forward pass, the search's latency estimate, and the
interleaved latency measurement the profile step uses."""

from __future__ import annotations

import pytest

from paretonas.models import (
    ModelSpec,
    build_model,
    count_macs,
    estimate_latency_ms,
    forward_counts,
    measure_latencies,
    measure_latency,
)
from tests.conftest import MODELS_DIR


def zoo(name: str):
    return build_model(ModelSpec.from_yaml(MODELS_DIR / f"{name}.yaml"))


def test_forward_counts_and_the_estimate_are_deterministic():
    small, large = zoo("digits_cnn"), zoo("mobilenet_tiny_32")
    counts = forward_counts(large, large.input_shape)
    assert counts.macs == count_macs(large, large.input_shape)
    leaves = [m for m in large.modules() if next(m.children(), None) is None]
    assert counts.modules >= len(leaves) // 2 and counts.elements > counts.modules
    assert counts == forward_counts(large, large.input_shape)
    assert estimate_latency_ms(counts) == estimate_latency_ms(forward_counts(large, (3, 32, 32)))
    small_estimate = estimate_latency_ms(forward_counts(small, small.input_shape))
    assert 0 < small_estimate < estimate_latency_ms(counts)  # fewer MACs, modules, elements


def test_measure_latencies_times_each_model_and_says_how():
    models = [zoo("digits_cnn"), zoo("mobilenet_tiny_32")]
    small, large = measure_latencies(models, [m.input_shape for m in models], rounds=30)
    for latency in (small, large):
        assert latency.min_ms <= latency.low_ms <= latency.ms <= latency.high_ms
        assert latency.rounds == 30 and latency.threads == 1 and latency.calls_per_round >= 1
        assert latency.method.startswith("p10 of 30 interleaved rounds")
    assert small.ms < large.ms  # 33k vs 6.3M MACs
    with pytest.raises(ValueError, match="rounds=5 must be >= 20"):
        measure_latency(models[0], models[0].input_shape, rounds=5)
