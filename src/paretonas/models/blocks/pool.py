"""Pooling: MaxPool, AvgPool and GlobalAvgPool (channels pass through)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from paretonas.models.blocks._base import Arg, ArgError, ArgKind, Block
from paretonas.models.registry import register_block


class _Pool(Block):
    """Shared by MaxPool and AvgPool: ``[kernel_size, stride=kernel_size, padding=0]``."""

    args = (
        Arg("kernel_size", ArgKind.POSITIVE_INT),
        Arg("stride", ArgKind.PADDING, None),  # null: same as kernel_size
        Arg("padding", ArgKind.PADDING, 0),
    )
    layer: type[nn.Module]

    @classmethod
    def out_channels(cls, in_shape: tuple[int, ...], args: Mapping[str, Any]) -> int:
        return in_shape[0]

    @classmethod
    def check(cls, in_channels: int, args: Mapping[str, Any]) -> None:
        if args["stride"] == 0:
            raise ArgError("stride", "expected a positive integer or null, got 0")
        if args["padding"] > args["kernel_size"] // 2:
            raise ArgError(
                "padding",
                f"padding={args['padding']} must be at most kernel_size // 2 "
                f"({args['kernel_size'] // 2})",
            )

    @classmethod
    def repeat_args(cls, args: Mapping[str, Any]) -> dict[str, Any]:
        return dict(args)  # repeated pools keep their stride: that is what repeating one means

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        stride = args["stride"] or args["kernel_size"]
        return cls.layer(args["kernel_size"], stride, args["padding"])


@register_block("MaxPool")
class MaxPool(_Pool):
    """Max pooling: ``[kernel_size, stride=kernel_size, padding=0]``."""

    layer = nn.MaxPool2d


@register_block("AvgPool")
class AvgPool(_Pool):
    """Average pooling: ``[kernel_size, stride=kernel_size, padding=0]``."""

    layer = nn.AvgPool2d


@register_block("GlobalAvgPool")
class GlobalAvgPool(Block):
    """Adaptive average pooling to 1x1; no args."""

    @classmethod
    def out_channels(cls, in_shape: tuple[int, ...], args: Mapping[str, Any]) -> int:
        return in_shape[0]

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        return nn.AdaptiveAvgPool2d(1)
