"""SqueezeNet's Fire module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from paretonas.models.blocks._base import Arg, ArgKind, Block
from paretonas.models.registry import register_block


class _Fire(nn.Module):
    def __init__(self, in_channels: int, squeeze: int, expand1x1: int, expand3x3: int) -> None:
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(in_channels, squeeze, 1), nn.ReLU())
        self.expand1x1 = nn.Sequential(nn.Conv2d(squeeze, expand1x1, 1), nn.ReLU())
        self.expand3x3 = nn.Sequential(nn.Conv2d(squeeze, expand3x3, 3, padding=1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze(x)
        return torch.cat([self.expand1x1(x), self.expand3x3(x)], dim=1)


@register_block("Fire")
class Fire(Block):
    """SqueezeNet Fire: 1x1 squeeze + ReLU, then 1x1 and 3x3 expands (ReLU) concatenated.

    Positional args: ``[squeeze_channels, expand1x1_channels, expand3x3_channels]``; output
    channels are expand1x1 + expand3x3. All three are scaled by ``width_multiple``.
    """

    args = (
        Arg("squeeze_channels", ArgKind.CHANNELS),
        Arg("expand1x1_channels", ArgKind.CHANNELS),
        Arg("expand3x3_channels", ArgKind.CHANNELS),
    )

    @classmethod
    def out_channels(cls, in_shape: tuple[int, ...], args: Mapping[str, Any]) -> int:
        return args["expand1x1_channels"] + args["expand3x3_channels"]

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        return _Fire(
            in_channels,
            args["squeeze_channels"],
            args["expand1x1_channels"],
            args["expand3x3_channels"],
        )
