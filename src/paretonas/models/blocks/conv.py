"""Plain convolutions: Conv and DWConv (conv + BatchNorm + activation)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from torch import nn

from paretonas.models.blocks._base import Arg, ArgKind, Block, check_groups, conv_bn_act
from paretonas.models.registry import register_block


@register_block("Conv")
class Conv(Block):
    """Conv2d (no bias) + BatchNorm2d + activation.

    Positional args: ``[out_channels, kernel_size=1, stride=1, padding=null, groups=1,
    activation=ReLU]``; padding null means "same" (kernel_size // 2).
    """

    args = (
        Arg("out_channels", ArgKind.CHANNELS),
        Arg("kernel_size", ArgKind.POSITIVE_INT, 1),
        Arg("stride", ArgKind.POSITIVE_INT, 1),
        Arg("padding", ArgKind.PADDING, None),
        Arg("groups", ArgKind.POSITIVE_INT, 1),
        Arg("activation", ArgKind.ACTIVATION, "ReLU"),
    )

    @classmethod
    def check(cls, in_channels: int, args: Mapping[str, Any]) -> None:
        check_groups("groups", args["groups"], in_channels, args["out_channels"])

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        return conv_bn_act(in_channels, **args)


@register_block("DWConv")
class DWConv(Block):
    """Depthwise(-ish) Conv: groups = gcd(in_channels, out_channels), + BatchNorm + activation.

    Positional args: ``[out_channels, kernel_size=1, stride=1, padding=null, activation=ReLU]``.
    """

    args = (
        Arg("out_channels", ArgKind.CHANNELS),
        Arg("kernel_size", ArgKind.POSITIVE_INT, 1),
        Arg("stride", ArgKind.POSITIVE_INT, 1),
        Arg("padding", ArgKind.PADDING, None),
        Arg("activation", ArgKind.ACTIVATION, "ReLU"),
    )

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        groups = math.gcd(in_channels, args["out_channels"])
        return conv_bn_act(in_channels, groups=groups, **args)
