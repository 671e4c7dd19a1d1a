"""What every block shares: typed arguments, activations, channel rounding, the Block base."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from paretonas.errors import short_repr


class ArgError(ValueError):
    """A block argument is invalid. ``key`` names it; the builder adds file and row."""

    def __init__(self, key: str | None, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


class ArgKind(enum.Enum):
    """How an argument is checked (and whether ``width_multiple`` scales it)."""

    CHANNELS = "channels"  # positive int, scaled by width_multiple then make_divisible(., 8)
    POSITIVE_INT = "positive int"
    PADDING = "padding"  # null ("same": kernel_size // 2) or a non-negative int
    POSITIVE_FLOAT = "positive number"
    PROBABILITY = "probability"  # float in [0, 1)
    BOOL = "bool"  # true/false or 0/1
    ACTIVATION = "activation"  # a name from ACTIVATIONS, or null for none


REQUIRED = object()


@dataclass(frozen=True)
class Arg:
    """One argument of a block, in the block's positional order."""

    name: str
    kind: ArgKind
    default: Any = REQUIRED
    choices: tuple[Any, ...] | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def check(self, value: Any) -> Any:
        """Return the value in canonical form, or raise ArgError naming this argument."""
        value = _check_kind(self.name, self.kind, value)
        if self.choices is not None and value not in self.choices:
            raise ArgError(
                self.name, f"must be one of {list(self.choices)}, got {short_repr(value)}"
            )
        return value


def _check_kind(name: str, kind: ArgKind, value: Any) -> Any:
    def fail(expected: str) -> ArgError:
        return ArgError(
            name, f"expected {expected}, got {short_repr(value)} ({type(value).__name__})"
        )

    is_int = isinstance(value, int) and not isinstance(value, bool)
    is_number = (is_int or isinstance(value, float)) and not isinstance(value, bool)
    if kind in (ArgKind.CHANNELS, ArgKind.POSITIVE_INT):
        if not is_int or value < 1:
            raise fail("a positive integer")
        return value
    if kind is ArgKind.PADDING:
        if value is None:
            return None
        if not is_int or value < 0:
            raise fail("null or a non-negative integer")
        return value
    if kind is ArgKind.POSITIVE_FLOAT:
        if not is_number or not math.isfinite(value) or value <= 0:
            raise fail("a positive number")
        return value
    if kind is ArgKind.PROBABILITY:
        if not is_number or not 0 <= value < 1:
            raise fail("a probability in [0, 1)")
        return float(value)
    if kind is ArgKind.BOOL:
        if isinstance(value, bool):
            return value
        if is_int and value in (0, 1):
            return bool(value)
        raise fail("true/false or 0/1")
    if kind is ArgKind.ACTIVATION:
        if value is None:
            return None
        if not isinstance(value, str) or value.lower() not in ACTIVATIONS:
            known = ", ".join(ACTIVATION_NAMES)
            raise ArgError(
                name, f"unknown activation {short_repr(value)}; known: {known} (or null)"
            )
        return value
    raise AssertionError(f"unhandled {kind=}")  # pragma: no cover


# Canonical names first; aliases map to the same class. Lookup is case-insensitive.
ACTIVATION_NAMES = ("ReLU", "ReLU6", "Hardswish", "Hardsigmoid", "SiLU", "GELU", "Identity")
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def make_activation(name: str | None) -> nn.Module:
    """An activation module from a (case-insensitive) name; None means no activation."""
    if name is None:
        return nn.Identity()
    return ACTIVATIONS[name.lower()]()


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to a multiple of ``divisor``, never going down by more than 10%.

    The rounding torchvision's MobileNets use (``_make_divisible``), so widths match theirs.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class Block:
    """One YAML module name: its arguments, its output channels, one built repetition.

    Subclasses declare ``args`` (positional order of the course format; the same names are
    accepted as a mapping) and ``input_rank`` (4 for N×C×H×W, 2 for N×F, None for any), and
    implement ``build``. ``out_channels`` defaults to the ``out_channels`` argument.
    """

    name: ClassVar[str] = ""
    args: ClassVar[tuple[Arg, ...]] = ()
    input_rank: ClassVar[int | None] = 4

    @classmethod
    def out_channels(cls, in_shape: tuple[int, ...], args: Mapping[str, Any]) -> int:
        """Channels (or features) this block outputs for an input of shape ``in_shape``
        (C, H, W) or (F,), batch dimension excluded."""
        return args["out_channels"]

    @classmethod
    def check(cls, in_channels: int, args: Mapping[str, Any]) -> None:
        """Checks that need the input channels; raise ArgError naming the key."""

    @classmethod
    def repeat_args(cls, args: Mapping[str, Any]) -> dict[str, Any]:
        """Arguments of repetitions after the first: a stride applies to the first only."""
        if "stride" in args:
            return {**args, "stride": 1}
        return dict(args)

    @classmethod
    def build(cls, in_channels: int, args: Mapping[str, Any]) -> nn.Module:
        raise NotImplementedError

    @classmethod
    def signature(cls) -> str:
        """The positional argument list as the docs show it: ``[out_channels, kernel_size=1]``."""
        parts = [a.name if a.required else f"{a.name}={a.default!r}" for a in cls.args]
        return "[" + ", ".join(parts) + "]"


def conv_bn_act(
    in_channels: int,
    out_channels: int,
    kernel_size: int = 1,
    stride: int = 1,
    padding: int | None = None,
    groups: int = 1,
    activation: str | None = "ReLU",
) -> nn.Sequential:
    """Conv2d (no bias) + BatchNorm2d + activation; padding None means kernel_size // 2."""
    padding = kernel_size // 2 if padding is None else padding
    return nn.Sequential(
        nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False
        ),
        nn.BatchNorm2d(out_channels),
        make_activation(activation),
    )


def check_groups(key: str, groups: int, *channels: int) -> None:
    """Raise ArgError unless ``groups`` divides every channel count."""
    for count in channels:
        if count % groups:
            raise ArgError(key, f"groups={groups} must divide the channel counts {list(channels)}")
