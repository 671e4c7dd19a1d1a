"""What an image folder holds, entry by entry: class folders, image files, and what is neither.

A class folder's entries that are no regular file are ignored with one warning a kind that
names them: a subfolder (images sit directly in the class folder), a symlink loop (a link
that leads back to itself, or to its own folder or one above it, which a walk would follow
forever), a broken symlink (its target is missing) and a special file (a pipe, a socket, a
device: reading one can block).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path

_logger = logging.getLogger(__name__)

FILE = "file"
SUBFOLDER = "subfolder"
LOOP = "symlink loop"
BROKEN = "broken symlink"
SPECIAL = "special file"
_WHY = {
    SUBFOLDER: "images must sit directly in it",
    LOOP: "a link that leads back to itself or to a folder above it",
    BROKEN: "the link's target is missing",
    SPECIAL: "a pipe, socket or device, not a regular file",
}
_NAMED = 10  # entries named in one warning; the rest counted


def visible(directory: Path) -> list[Path]:
    """The entries of ``directory`` not hidden (``.DS_Store``, ``.git``), sorted by name."""
    return sorted((p for p in directory.iterdir() if not p.name.startswith(".")), key=_name)


def kind_of(path: Path) -> str:
    """FILE, SUBFOLDER, LOOP, BROKEN or SPECIAL for one entry of a folder."""
    try:
        mode = path.stat().st_mode  # follows symlinks
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return LOOP
        return BROKEN if path.is_symlink() else SPECIAL
    if stat.S_ISREG(mode):
        return FILE
    if not stat.S_ISDIR(mode):
        return SPECIAL
    if path.is_symlink() and _leads_above(path):
        return LOOP
    return SUBFOLDER


def why_missing(path: Path) -> str:
    """Why ``path`` does not exist as a folder: "no such directory", or the symlink problem."""
    kind = kind_of(path) if path.is_symlink() else None
    if kind == LOOP:
        return "a symlink loop (it leads back to itself)"
    if kind == BROKEN:
        return f"a broken symlink (its target {os.readlink(path)} is missing)"
    return "no such directory"


def class_folders(directory: Path) -> list[Path]:
    """The folders under ``directory``, sorted; its symlink loops and broken symlinks are
    warned about (a class the user meant may hide behind one), its files ignored."""
    kinds = entries_by_kind(directory)
    warn_ignored(directory, {k: v for k, v in kinds.items() if k in (LOOP, BROKEN)})
    return kinds.get(SUBFOLDER, [])


def entries_by_kind(directory: Path) -> dict[str, list[Path]]:
    """The visible entries of ``directory``, grouped by ``kind_of``, each group sorted."""
    kinds: dict[str, list[Path]] = {}
    for path in visible(directory):
        kinds.setdefault(kind_of(path), []).append(path)
    return kinds


def warn_ignored(folder: Path, kinds: dict[str, list[Path]]) -> None:
    """One warning for each kind of entry of ``folder`` that is no image file, naming them."""
    for kind in (SUBFOLDER, LOOP, BROKEN, SPECIAL):
        paths = kinds.get(kind, [])
        if not paths:
            continue
        names = ", ".join(repr(p.name) for p in paths[:_NAMED])
        more = f" and {len(paths) - _NAMED} more" if len(paths) > _NAMED else ""
        _logger.warning(
            "imagefolder: ignoring %d %s(s) in %s (%s): %s%s",
            len(paths),
            kind,
            folder,
            _WHY[kind],
            names,
            more,
        )


def _leads_above(link: Path) -> bool:
    """True when the directory ``link`` points to is its own folder or a folder above it."""
    target = os.path.realpath(link)
    folder = os.path.realpath(link.parent)
    return folder == target or folder.startswith(target.rstrip(os.sep) + os.sep)


def _name(path: Path) -> str:
    return path.name
