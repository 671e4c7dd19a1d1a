"""Model YAML <-> ModelSpec: the course format, validated strictly, written back identically.

A spec is plain data (frozen dataclasses). Everything that can be checked without a tensor
is checked here, at load time: top-level keys, row structure, module names, argument count,
names, types and ranges. Shape problems are found by the builder (``build.py``).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from paretonas.errors import ModelConfigError, short_repr
from paretonas.models.blocks._base import ArgError, Block
from paretonas.models.registry import get_block, list_blocks
from paretonas.yamlio import StrictSafeLoader, atomic_write_text, parse_yaml, read_text

REQUIRED_KEYS = ("input_channel", "depth_multiple", "width_multiple", "backbone")
OPTIONAL_KEYS = ("input_size", "description")


@dataclass(frozen=True)
class BlockSpec:
    """One backbone row: ``[repeat, module, args]``; args as written (positional or named)."""

    repeat: int
    module: str
    args: tuple[Any, ...] | Mapping[str, Any]

    def to_row(self) -> list[Any]:
        args = dict(self.args) if isinstance(self.args, Mapping) else list(self.args)
        return [self.repeat, self.module, args]


@dataclass(frozen=True)
class ModelSpec:
    """A whole model YAML. ``source`` and ``row_lines`` only serve error messages."""

    input_channel: int
    depth_multiple: float
    width_multiple: float
    backbone: tuple[BlockSpec, ...]
    input_size: tuple[int, int] | None = None
    description: str | None = None
    source: str = field(default="<dict>", compare=False)
    row_lines: tuple[int, ...] | None = field(default=None, compare=False, repr=False)

    # -- reading -------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> ModelSpec:
        """Load and validate a model YAML file."""
        return cls.from_text(read_text(path, ModelConfigError), str(path))

    @classmethod
    def from_text(cls, text: str, source: str = "<string>") -> ModelSpec:
        data = parse_yaml(text, source, ModelConfigError)
        return cls.from_dict(data, source, row_lines=_row_lines(text))

    @classmethod
    def from_dict(
        cls, data: Any, source: str = "<dict>", row_lines: Sequence[int] | None = None
    ) -> ModelSpec:
        """Validate a parsed YAML mapping; every error names ``source``, the row and the key."""
        if not isinstance(data, Mapping):
            raise ModelConfigError(
                f"{source}: the top level must be a mapping with keys "
                f"{', '.join(REQUIRED_KEYS)}; got {type(data).__name__}"
            )
        missing = [k for k in REQUIRED_KEYS if k not in data]
        if missing:
            raise ModelConfigError(f"{source}: missing top-level key(s): {', '.join(missing)}")
        unknown = [k for k in data if k not in REQUIRED_KEYS + OPTIONAL_KEYS]
        if unknown:
            raise ModelConfigError(
                f"{source}: unknown top-level key(s): {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}"
            )
        input_channel = _top_level(source, "input_channel", data["input_channel"], int)
        depth = _top_level(source, "depth_multiple", data["depth_multiple"], float)
        width = _top_level(source, "width_multiple", data["width_multiple"], float)
        input_size = _input_size(source, data.get("input_size"))
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            raise ModelConfigError(f"{source}: description: expected a string")
        rows = data["backbone"]
        if not isinstance(rows, list) or not rows:
            raise ModelConfigError(f"{source}: backbone: expected a non-empty list of rows")
        lines = tuple(row_lines) if row_lines and len(row_lines) == len(rows) else None
        spec = cls(
            input_channel=input_channel,
            depth_multiple=depth,
            width_multiple=width,
            backbone=tuple(_block_spec(source, i, row, lines) for i, row in enumerate(rows)),
            input_size=input_size,
            description=description,
            source=source,
            row_lines=lines,
        )
        for index in range(len(spec.backbone)):
            spec.bound_args(index)  # validates every row's arguments now, not at build time
        return spec

    # -- arguments -----------------------------------------------------------------------
    def where(self, index: int) -> str:
        """``file: backbone[i] (line n): Module`` for error messages."""
        line = f" (line {self.row_lines[index]})" if self.row_lines else ""
        return f"{self.source}: backbone[{index}]{line}: {self.backbone[index].module}"

    def bound_args(self, index: int) -> dict[str, Any]:
        """Row ``index``'s arguments by name, defaults filled in, checked (not yet scaled)."""
        row = self.backbone[index]
        block = get_block(row.module)
        try:
            return bind_args(block, row.args)
        except ArgError as exc:
            key = f"{exc.key}: " if exc.key else ""
            raise ModelConfigError(f"{self.where(index)}: {key}{exc.message}") from None

    # -- writing -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "input_channel": self.input_channel,
            "depth_multiple": self.depth_multiple,
            "width_multiple": self.width_multiple,
        }
        if self.input_size is not None:
            data["input_size"] = list(self.input_size)
        if self.description is not None:
            data["description"] = self.description
        data["backbone"] = [row.to_row() for row in self.backbone]
        return data

    def to_yaml(self) -> str:
        """The course format, one flow-style row per line; ``from_text(to_yaml())`` == self."""
        data = self.to_dict()
        rows = data.pop("backbone")
        head = "".join(f"{key}: {_flow(value)}\n" for key, value in data.items())
        body = "".join(f"  - {_flow(row)}\n" for row in rows)
        return f"{head}backbone:\n  # [repeat, module, args]\n{body}"

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``to_yaml()`` atomically."""
        return atomic_write_text(path, self.to_yaml())


def _flow(value: Any) -> str:
    """One value as single-line flow YAML (dumped inside a list, then unwrapped)."""
    return yaml.safe_dump([value], default_flow_style=True, sort_keys=False, width=10**9).strip()[
        1:-1
    ]


def bind_args(block: type[Block], raw: Sequence[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """Map positional or named YAML args onto ``block.args``; raise ArgError on any mismatch."""
    names = [a.name for a in block.args]
    if isinstance(raw, Mapping):
        unknown = [k for k in raw if k not in names]
        if unknown:
            raise ArgError(
                str(unknown[0]),
                f"unknown argument; {block.name} takes {block.signature()}",
            )
        given = dict(raw)
    else:
        if len(raw) > len(names):
            raise ArgError(
                None,
                f"takes at most {len(names)} args {block.signature()}, "
                f"got {len(raw)}: {short_repr(list(raw))}",
            )
        given = dict(zip(names, raw, strict=False))
    bound = {}
    for arg in block.args:
        if arg.name in given:
            bound[arg.name] = arg.check(given[arg.name])
        elif arg.required:
            raise ArgError(
                arg.name, f"missing required argument; {block.name} takes {block.signature()}"
            )
        else:
            bound[arg.name] = arg.default
    return bound


def _top_level(source: str, key: str, value: Any, kind: type) -> Any:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind is int and is_int and value >= 1:
        return value
    is_number = is_int or (isinstance(value, float) and not isinstance(value, bool))
    if kind is float and is_number and 0 < value < float("inf"):
        return float(value)
    expected = "a positive integer" if kind is int else "a positive number"
    hint = ""
    if isinstance(value, str) and _is_float_text(value):
        hint = (
            f" (YAML 1.1 reads {value} as a string: write it with a decimal point and a "
            f"signed exponent, e.g. {float(value):.1e})"
        )
    raise ModelConfigError(f"{source}: {key}: expected {expected}, got {short_repr(value)}{hint}")


def _is_float_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _input_size(source: str, value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return (value, value)
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
    ):
        return (value[0], value[1])
    raise ModelConfigError(
        f"{source}: input_size: expected a positive integer or [height, width], "
        f"got {short_repr(value)}"
    )


def _block_spec(source: str, index: int, row: Any, lines: tuple[int, ...] | None) -> BlockSpec:
    where = f"{source}: backbone[{index}]" + (f" (line {lines[index]})" if lines else "")
    if not isinstance(row, (list, tuple)) or len(row) != 3:
        raise ModelConfigError(
            f"{where}: expected a row [repeat, module, args], got {short_repr(row)}"
        )
    repeat, module, args = row
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ModelConfigError(
            f"{where}: repeat: expected an integer >= 1, got {short_repr(repeat)}"
        )
    if not isinstance(module, str) or module not in list_blocks():
        close = difflib.get_close_matches(str(module), list_blocks(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ModelConfigError(
            f"{where}: module: unknown module {short_repr(module)}{hint}; "
            f"known: {', '.join(list_blocks())}"
        )
    if isinstance(args, Mapping):
        if not all(isinstance(k, str) for k in args):
            raise ModelConfigError(f"{where}: {module}: args: argument names must be strings")
        return BlockSpec(repeat, module, dict(args))
    if isinstance(args, (list, tuple)):
        return BlockSpec(repeat, module, tuple(args))
    raise ModelConfigError(
        f"{where}: {module}: args: expected a list or a mapping, got {short_repr(args)}"
    )


def _row_lines(text: str) -> tuple[int, ...] | None:
    """1-based line of each backbone row, for error messages; None if it cannot be told."""
    try:
        root = yaml.compose(text, Loader=StrictSafeLoader)
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if key.value == "backbone" and isinstance(value, yaml.SequenceNode):
            return tuple(item.start_mark.line + 1 for item in value.value)
    return None
