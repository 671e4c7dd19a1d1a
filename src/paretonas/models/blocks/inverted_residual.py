"""MobileNet inverted residuals: InvertedResidualv2 and InvertedResidualv3 (with SE)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from paretonas.models.blocks._base import Arg, ArgKind, Block, conv_bn_act, make_divisible
from paretonas.models.registry import register_block


class _InvertedResidual(nn.Module):
    """expand (optional) -> depthwise -> SE (optional) -> linear project, + residual."""

    def __init__(self, layers: list[nn.Module], use_residual: bool) -> None:
        super().__init__()
        self.block = nn.Sequential(*layers)
        self.use_residual = use_residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.use_residual else out


class SqueezeExcitation(nn.Module):
    """Squeeze-excitation with a hard-sigmoid gate (MobileNetV3)."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.activation = nn.ReLU()
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.gate(self.fc2(self.activation(self.fc1(self.pool(x)))))
        return x * scale


@register_block("InvertedResidualv2")
class InvertedResidualv2(Block):
    """MobileNetV2 block: hidden = round(in * expand_ratio); 1x1 expand (skipped when
    expand_ratio == 1), depthwise 3x3 with ``stride``, ReLU6, linear 1x1 project + BN;
    residual when stride == 1 and in == out.

    Positional args (course order ``c, t, s``): ``[out_channels, expand_ratio, stride]``.
    """

    args = (
        Arg("out_channels", ArgKind.CHANNELS),
        Arg("expand_ratio", ArgKind.POSITIVE_FLOAT),
        Arg("stride", ArgKind.POSITIVE_INT, choices=(1, 2)),
    )

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        out_channels, ratio, stride = args["out_channels"], args["expand_ratio"], args["stride"]
        hidden = round(in_channels * ratio)
        layers: list[nn.Module] = []
        if ratio != 1:
            layers.append(conv_bn_act(in_channels, hidden, 1, activation="ReLU6"))
        layers += [
            conv_bn_act(hidden, hidden, 3, stride, groups=hidden, activation="ReLU6"),
            conv_bn_act(hidden, out_channels, 1, activation=None),
        ]
        return _InvertedResidual(layers, stride == 1 and in_channels == out_channels)


@register_block("InvertedResidualv3")
class InvertedResidualv3(Block):
    """MobileNetV3 block: expanded = make_divisible(in * expand_ratio, 8); 1x1 expand (skipped
    when expanded == in), depthwise k x k with ``stride``, squeeze-excitation when ``use_se``
    (squeeze = make_divisible(expanded / 4, 8)), Hardswish when ``use_hardswish`` else ReLU,
    linear 1x1 project + BN; residual when stride == 1 and in == out.

    Positional args (course order ``k, t, c, SE, HS, s``):
    ``[kernel_size, expand_ratio, out_channels, use_se, use_hardswish, stride]``.
    """

    args = (
        Arg("kernel_size", ArgKind.POSITIVE_INT),
        Arg("expand_ratio", ArgKind.POSITIVE_FLOAT),
        Arg("out_channels", ArgKind.CHANNELS),
        Arg("use_se", ArgKind.BOOL),
        Arg("use_hardswish", ArgKind.BOOL),
        Arg("stride", ArgKind.POSITIVE_INT, choices=(1, 2)),
    )

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        out_channels, stride, kernel = args["out_channels"], args["stride"], args["kernel_size"]
        activation = "Hardswish" if args["use_hardswish"] else "ReLU"
        expanded = make_divisible(in_channels * args["expand_ratio"], 8)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(conv_bn_act(in_channels, expanded, 1, activation=activation))
        layers.append(
            conv_bn_act(expanded, expanded, kernel, stride, groups=expanded, activation=activation)
        )
        if args["use_se"]:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded / 4, 8)))
        layers.append(conv_bn_act(expanded, out_channels, 1, activation=None))
        return _InvertedResidual(layers, stride == 1 and in_channels == out_channels)
