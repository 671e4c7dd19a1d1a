"""Shape and regularization utilities: Flatten, Dropout, Pass."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from torch import nn

from paretonas.models.blocks._base import Arg, ArgKind, Block
from paretonas.models.registry import register_block


class _Passthrough(Block):
    """Blocks that keep the channel (feature) count."""

    input_rank = None

    @classmethod
    def out_channels(cls, in_shape: tuple[int, ...], args: Mapping[str, Any]) -> int:
        return in_shape[0]


@register_block("Flatten")
class Flatten(_Passthrough):
    """N x C x H x W -> N x (C*H*W); no args."""

    input_rank = 4

    @classmethod
    def out_channels(cls, in_shape: tuple[int, ...], args: Mapping[str, Any]) -> int:
        return math.prod(in_shape)

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        return nn.Flatten(1)


@register_block("Dropout")
class Dropout(_Passthrough):
    """Dropout: ``[p=0.5]``."""

    args = (Arg("p", ArgKind.PROBABILITY, 0.5),)

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        return nn.Dropout(args["p"])


@register_block("Pass")
class Pass(_Passthrough):
    """Nothing: lets a search leave a slot empty; no args."""

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        return nn.Identity()
