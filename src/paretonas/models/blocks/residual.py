"""ResNet-style bottleneck: 1x1 reduce -> 3x3, with an identity shortcut."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from paretonas.models.blocks._base import (
    Arg,
    ArgError,
    ArgKind,
    Block,
    check_groups,
    conv_bn_act,
)
from paretonas.models.registry import register_block


class _Bottleneck(nn.Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden: int,
        groups: int,
        shortcut: bool,
        activation: str | None,
    ) -> None:
        super().__init__()
        self.reduce = conv_bn_act(in_channels, hidden, 1, activation=activation)
        self.conv = conv_bn_act(hidden, out_channels, 3, groups=groups, activation=activation)
        self.use_residual = shortcut and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(self.reduce(x))
        return x + out if self.use_residual else out


@register_block("Bottleneck")
class Bottleneck(Block):
    """Bottleneck: Conv 1x1 to ``out_channels * expansion``, Conv 3x3 (grouped) to
    ``out_channels``; residual when ``shortcut`` and in == out.

    Positional args: ``[out_channels, shortcut=true, groups=1, expansion=0.5, activation=ReLU]``.
    """

    args = (
        Arg("out_channels", ArgKind.CHANNELS),
        Arg("shortcut", ArgKind.BOOL, True),
        Arg("groups", ArgKind.POSITIVE_INT, 1),
        Arg("expansion", ArgKind.POSITIVE_FLOAT, 0.5),
        Arg("activation", ArgKind.ACTIVATION, "ReLU"),
    )

    @staticmethod
    def _hidden(args: Mapping[str, Any]) -> int:
        return int(args["out_channels"] * args["expansion"])

    @classmethod
    def check(cls, in_channels: int, args: Mapping[str, Any]) -> None:
        hidden = cls._hidden(args)
        if hidden < 1:
            raise ArgError("expansion", f"out_channels * expansion = {hidden}, must be >= 1")
        check_groups("groups", args["groups"], hidden, args["out_channels"])

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        return _Bottleneck(
            in_channels,
            args["out_channels"],
            cls._hidden(args),
            args["groups"],
            args["shortcut"],
            args["activation"],
        )
