"""Block families, one file each; importing this package registers them all."""

from __future__ import annotations

from paretonas.models.blocks import (  # noqa: F401  (imported for registration)
    conv,
    fire,
    inverted_residual,
    linear,
    pool,
    residual,
    utility,
)
from paretonas.models.blocks._base import Arg, ArgKind, Block, make_activation, make_divisible

__all__ = ["Arg", "ArgKind", "Block", "make_activation", "make_divisible"]
