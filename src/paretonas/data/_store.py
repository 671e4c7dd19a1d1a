"""The prepared-data directory: split files, the manifest, and its all-or-nothing replacement.

Layout (Snakemake declares these exact paths as outputs)::

    out_dir/full/{train,val,test}.pt   out_dir/search/{train,val}.pt   out_dir/manifest.json

Each ``.pt`` holds ``{"images": uint8 N x C x H x W, "labels": int64 N, "indices": int64 N}``
and loads with ``torch.load(path, weights_only=True)``. ``torch.save`` of the same tensors
writes the same bytes, so DVC md5s stay stable across runs with the same config and seed.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pickle
import re
import secrets
import shutil
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from paretonas.errors import DataError

_logger = logging.getLogger(__name__)

SPLITS = ("full/train", "full/val", "full/test", "search/train", "search/val")
MANIFEST = "manifest.json"


def split_path(out_dir: str | os.PathLike, split: str) -> Path:
    """``out_dir/<split>.pt`` for one of :data:`SPLITS`."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    return Path(out_dir) / f"{split}.pt"


def serialize_split(images: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor) -> bytes:
    """The bytes of one split file (tensors are cloned so no larger storage is saved with them)."""
    buffer = io.BytesIO()
    torch.save(
        {
            "images": images.contiguous().clone(),
            "labels": labels.to(torch.int64).contiguous().clone(),
            "indices": indices.to(torch.int64).contiguous().clone(),
        },
        buffer,
    )
    return buffer.getvalue()


def write_file(path: Path, data: bytes) -> None:
    """Write and fsync ``data`` (inside the staging directory, so no temp file is needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as indented JSON with a final newline."""
    return (json.dumps(manifest, indent=2) + "\n").encode("utf-8")


@contextlib.contextmanager
def staged_directory(out_dir: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty staging directory next to ``out_dir``; on success it becomes ``out_dir``.

    If the body raises (an error, Ctrl-C, or SIGTERM, which the CLI turns into an exception),
    the staging directory is removed and ``out_dir`` is untouched. A process killed outright
    (SIGKILL, a node lost) cannot clean up: its staging directory carries the host and process
    id in its name, and the next run here sweeps those whose process is gone. On success a
    previous ``out_dir`` is moved aside, the staging directory renamed into place and the old one
    deleted; should the rename fail, the old directory is put back. (POSIX cannot rename over a
    non-empty directory, hence two renames rather than one.) The directory is made with the
    process umask (0755 as a rule), as ``mkdir`` makes any output directory.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(out_dir)
    staging = _sibling(out_dir, "tmp")  # named first, made inside the try: an interrupt
    try:  # arriving right after mkdir still reaches the cleanup below
        staging.mkdir()  # with the umask (mkdtemp would make it 0700)
        yield staging
        _swap_into_place(staging, out_dir)
    finally:
        with _signals_held():  # a second Ctrl-C cannot cut the cleanup short
            shutil.rmtree(staging, ignore_errors=True)


def _sibling(out_dir: Path, kind: str) -> Path:
    """A fresh ``.<name>.<host>.<pid>.<random>.<kind>`` path beside ``out_dir`` (not made)."""
    token = secrets.token_hex(4)
    return out_dir.parent / f".{out_dir.name}.{_host()}.{os.getpid()}.{token}.{kind}"


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (delivered on exit) while a cleanup runs."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def sweep_stale(out_dir: Path) -> list[Path]:
    """Remove the staging (and moved-aside) directories of ``out_dir`` that a killed process of
    this host left; another live process's are kept. Returns what was removed."""
    host = _host()
    pattern = re.compile(
        rf"^\.{re.escape(out_dir.name)}\.{re.escape(host)}\.(\d+)\.[0-9a-f]+\.(tmp|old)$"
    )
    removed = []
    for path in out_dir.parent.iterdir():
        match = pattern.match(path.name)
        if match and not _alive(int(match[1])):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    if removed:
        _logger.warning(
            "%s: removed %d staging folder(s) an interrupted run left: %s",
            out_dir,
            len(removed),
            ", ".join(p.name for p in removed),
        )
    return removed


def _host() -> str:
    """This host's short name (staging names say which host's process made them)."""
    return socket.gethostname().split(".")[0] or "host"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    if out_dir.is_symlink() or out_dir.is_file():
        raise DataError(f"{out_dir}: exists and is not a directory; remove it first")
    if not out_dir.exists():
        os.replace(staging, out_dir)
        return
    old = _sibling(out_dir, "old")
    with _signals_held():  # an interrupt between the two renames must not lose the old output
        old.mkdir()
        try:
            os.replace(out_dir, old / "previous")
            try:
                os.replace(staging, out_dir)
            except BaseException:
                os.replace(old / "previous", out_dir)
                raise
        finally:
            shutil.rmtree(old, ignore_errors=True)


def load_split(out_dir: str | os.PathLike, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 images N x C x H x W, int64 labels N) of one split, e.g. ``"search/train"``."""
    data = load_split_file(out_dir, split)
    return data["images"], data["labels"]


def load_split_file(out_dir: str | os.PathLike, split: str) -> dict[str, torch.Tensor]:
    """The whole split file: ``images``, ``labels`` and ``indices`` (rows in source order)."""
    path = split_path(out_dir, split)
    try:
        data = torch.load(path, weights_only=True)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; run `paretonas prepare-data` first") from None
    except (OSError, RuntimeError, ValueError, pickle.UnpicklingError) as exc:
        raise DataError(f"{path}: cannot load split: {exc}") from None
    if not isinstance(data, dict) or not {"images", "labels", "indices"} <= set(data):
        raise DataError(f"{path}: not a paretonas split file (images, labels, indices)")
    return data


def load_manifest(out_dir: str | os.PathLike) -> dict[str, Any]:
    """The ``manifest.json`` written by :func:`paretonas.data.prepare_data`."""
    path = Path(out_dir) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; run `paretonas prepare-data` first") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read manifest: {exc}") from None
