"""Safe YAML in and out: SafeLoader only, duplicate keys refused, size bounded, atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from paretonas.errors import ConfigError, short_repr

# Bounds on what a document may become once parsed. Every YAML file this project reads is a
# few hundred values, a few levels deep; these refuse an "alias bomb" (nine levels of
# ``&a [*a, *a, ...]`` expand to 10**9 values) and a 20,000-deep nesting (Python's recursion
# limit) with one line, before anything walks, copies or prints the value.
MAX_DEPTH = 100  # levels of nesting, aliases followed
MAX_ALIASED_VALUES = 10_000  # values that aliases add beyond those written in the file


class YAMLBoundsError(yaml.YAMLError):
    """A document nests too deeply or its aliases expand too far (or into themselves)."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (plain SafeLoader keeps the last one),
    nesting deeper than ``MAX_DEPTH`` and aliases that expand past ``MAX_ALIASED_VALUES``
    values or contain themselves."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        # Counted while composing: the composer recurses once per level, so a 20,000-deep
        # file must be stopped here, long before Python's recursion limit.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YAMLBoundsError(
                    f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> yaml.Node:
        node = super().compose_document()
        _check_expansion(node)
        return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases add more than ``MAX_ALIASED_VALUES`` values, nest it
    deeper than ``MAX_DEPTH`` or make it contain itself. Each distinct node is measured once
    (aliases share nodes), so a bomb is measured in microseconds, never expanded."""
    written: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) not in written:
            written.add(id(node))
            stack.extend(_children(node))
    ceiling = len(written) + MAX_ALIASED_VALUES
    measured: dict[int, tuple[int, int]] = {}  # id -> (values once expanded, levels)
    open_nodes: set[int] = set()

    def measure(node: yaml.Node, depth: int, parent: yaml.Node) -> tuple[int, int]:
        key = id(node)
        if key in open_nodes:
            raise YAMLBoundsError("an alias refers to a node that contains it", node.start_mark)
        if key not in measured:
            if depth > MAX_DEPTH:
                raise YAMLBoundsError(
                    f"nested deeper than {MAX_DEPTH} levels once aliases are followed",
                    node.start_mark,
                )
            open_nodes.add(key)
            parts = [measure(child, depth + 1, node) for child in _children(node)]
            open_nodes.discard(key)
            values = 1 + sum(values for values, _ in parts)
            if values > ceiling:
                raise YAMLBoundsError(
                    f"aliases expand this value to {values:,} values, more than "
                    f"{MAX_ALIASED_VALUES:,} beyond the {len(written):,} written (an alias bomb?)",
                    node.start_mark,
                )
            measured[key] = (values, 1 + max((levels for _, levels in parts), default=0))
        values, levels = measured[key]
        if depth + levels - 1 > MAX_DEPTH:  # a node met before, here through an alias
            raise YAMLBoundsError(
                f"nested deeper than {MAX_DEPTH} levels once aliases are followed",
                parent.start_mark,
            )
        return values, levels

    measure(root, 1, root)


def _construct_mapping(loader: StrictSafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # keys merged in (``<<: *base``) may be overridden by keys written here
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key: SafeLoader's construct_mapping names it below
            continue
        if duplicate:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {short_repr(key)} (first on line {first})",
                key_node.start_mark,
            )
        seen[key] = key_node
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


def _construct_int(loader: StrictSafeLoader, node: yaml.ScalarNode) -> int:
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"an integer written with {len(node.value):,} characters, more digits than Python "
            "reads",
            node.start_mark,
        ) from None


StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
StrictSafeLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def parse_yaml(text: str, source: str, error: type[ConfigError] = ConfigError) -> Any:
    """Parse YAML text with the strict safe loader; any problem becomes ``error`` naming ``source``.

    Python tags (``!!python/object/apply:...``) are refused by the SafeLoader before anything
    is constructed, so nothing is ever executed; so are documents past the bounds above.
    """
    try:
        loader = StrictSafeLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except YAMLBoundsError as exc:
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise error(f"{source}{where}: {exc.problem}; refused") from None
    except yaml.constructor.ConstructorError as exc:
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        problem = exc.problem or str(exc)
        if "python/" in problem or "could not determine a constructor" in problem:
            problem = f"refused: {problem}; only plain YAML data is accepted"
        raise error(f"{source}{where}: {problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{source}{where}: not valid YAML: {problem}") from None


def read_yaml(path: str | os.PathLike, error: type[ConfigError] = ConfigError) -> Any:
    """Read and parse a YAML file; a missing or unreadable file is ``error`` naming the path."""
    return parse_yaml(read_text(path, error), str(path), error)


def read_text(path: str | os.PathLike, error: type[ConfigError] = ConfigError) -> str:
    """A UTF-8 text file's text; a missing, unreadable or non-UTF-8 file is ``error`` naming
    the path (and the line of the first byte that is not UTF-8)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            f"{path} (line {line}): not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from None


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a temp file in the same directory and a rename."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: readers see the old or the new file, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
