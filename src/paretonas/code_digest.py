"""A digest of the package code a workflow stage runs, so that editing it reruns that stage.

Snakemake's ``code`` trigger sees a rule's own script, not the package the script calls. Each
rule therefore carries ``params: code=stage_digest("paretonas.select")``: a hash of that
module and of every ``paretonas`` module it imports, directly or not (found by reading the
sources, ``import`` statements inside functions included, never by importing them: the
Snakefile must start fast and without torch). Editing ``select.py`` changes select's digest
and not the search's; editing the training loop changes the search's.

Stdlib only, and nothing here imports another ``paretonas`` module.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = "paretonas"
ROOT = Path(__file__).resolve().parent  # the package directory whose code the rules run


def _module_file(name: str, root: Path = ROOT) -> Path | None:
    """``paretonas.a.b`` -> ``root/a/b.py`` or ``root/a/b/__init__.py``; None if neither."""
    parts = name.split(".")[1:]
    base = root.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_package(name: str, root: Path) -> bool:
    path = _module_file(name, root)
    return path is not None and path.name == "__init__.py"


@functools.cache
def _imports(name: str, root: Path, mtime_ns: int) -> frozenset[str]:
    """The ``paretonas`` modules that importing ``name`` imports: its own import statements
    (anywhere in the file) and the packages above each of them."""
    path = _module_file(name, root)
    if path is None:
        return frozenset()
    found: set[str] = set()
    package = name if _is_package(name, root) else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # submodules
    modules = set()
    for module in found:
        if module != PACKAGE and not module.startswith(PACKAGE + "."):
            continue
        parts = module.split(".")
        for i in range(1, len(parts) + 1):  # a.b.c also runs a/__init__ and a/b/__init__
            prefix = ".".join(parts[:i])
            if _module_file(prefix, root) is not None:
                modules.add(prefix)
    return frozenset(modules)


def closure(*entries: str, root: Path = ROOT) -> list[str]:
    """Every ``paretonas`` module that importing ``entries`` runs, sorted (``root``: the
    package directory to read, this one by default)."""
    seen: set[str] = set()
    todo = [PACKAGE, *entries]
    while todo:
        name = todo.pop()
        path = _module_file(name, root)
        if name in seen or path is None:
            continue
        seen.add(name)
        todo.extend(_imports(name, root, path.stat().st_mtime_ns) - seen)
    return sorted(seen)


def stage_digest(*entries: str, root: Path = ROOT) -> str:
    """A short hash of the source of every module in ``closure(*entries)``."""
    digest = hashlib.sha256()
    for name in closure(*entries, root=root):
        path = _module_file(name, root)
        if path is None:  # closure() keeps only modules with a file
            continue
        digest.update(f"{path.relative_to(root)}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
