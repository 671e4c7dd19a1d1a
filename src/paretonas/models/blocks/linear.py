"""Fully connected layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from paretonas.models.blocks._base import Arg, ArgKind, Block, make_activation
from paretonas.models.registry import register_block


@register_block("Linear")
class Linear(Block):
    """Linear with bias (+ activation) on a flattened N x F input.

    Positional args: ``[out_features, activation=null]``. Not scaled by ``width_multiple``:
    the last Linear is the classifier and its width is the class count.
    """

    args = (
        Arg("out_features", ArgKind.POSITIVE_INT),
        Arg("activation", ArgKind.ACTIVATION, None),
    )
    input_rank = 2

    @classmethod
    def out_channels(cls, in_shape: tuple[int, ...], args: Mapping[str, Any]) -> int:
        return args["out_features"]

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        linear = nn.Linear(in_channels, args["out_features"])
        if args["activation"] is None:
            return linear
        return nn.Sequential(linear, make_activation(args["activation"]))
