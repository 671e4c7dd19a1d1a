"""Block registry: YAML module names -> block classes. Blocks register themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from paretonas.models.blocks._base import Block

_REGISTRY: dict[str, type[Block]] = {}

B = TypeVar("B", bound="type[Block]")


def register_block(name: str) -> Callable[[B], B]:
    """Class decorator: make ``cls`` the block built for YAML module ``name``.

    A second registration under the same name is an error, never a silent override.
    """

    def decorator(cls: B) -> B:
        if name in _REGISTRY:
            raise ValueError(
                f"a block is already registered under the name {name!r} "
                f"({_REGISTRY[name].__module__}.{_REGISTRY[name].__qualname__})"
            )
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def get_block(name: str) -> type[Block]:
    """The block class registered as ``name``; KeyError if there is none."""
    _ensure_loaded()
    return _REGISTRY[name]


def list_blocks() -> list[str]:
    """Names of every registered block, sorted."""
    _ensure_loaded()
    return sorted(_REGISTRY)


def _ensure_loaded() -> None:
    # Importing the package runs every block file's @register_block.
    import paretonas.models.blocks  # noqa: F401
