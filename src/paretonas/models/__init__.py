"""YAML -> PyTorch models in the course format: spec, registry, builder, costs."""

from __future__ import annotations

from paretonas.models.blocks import Block, make_divisible
from paretonas.models.build import LayerInfo, Model, build_model, format_layer_table
from paretonas.models.costs import (
    ForwardCounts,
    Latency,
    count_macs,
    count_params,
    estimate_latency_ms,
    forward_counts,
    measure_latencies,
    measure_latency,
)
from paretonas.models.registry import get_block, list_blocks, register_block
from paretonas.models.spec import BlockSpec, ModelSpec

__all__ = [
    "Block",
    "BlockSpec",
    "ForwardCounts",
    "Latency",
    "LayerInfo",
    "Model",
    "ModelSpec",
    "build_model",
    "count_macs",
    "count_params",
    "estimate_latency_ms",
    "format_layer_table",
    "forward_counts",
    "get_block",
    "list_blocks",
    "make_divisible",
    "measure_latencies",
    "measure_latency",
    "register_block",
]
