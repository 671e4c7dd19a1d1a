"""MNIST-format IDX files (``*images-idx3-ubyte`` + ``*labels-idx1-ubyte``, optionally gzipped).

The format is a big-endian header (magic number, then one uint32 per dimension) followed by
raw uint8 values; numpy reads it without copies. Every check names the file it failed on.
The header is read first and decides how much is read after it: the values it declares
(computed in Python integers, so dimensions such as 2**31-1 cannot overflow), refused past
``$PARETONAS_MAX_IDX_MIB``, and a gzip stream is decompressed no further than those values and
one byte (a gzip bomb ends there, as "more bytes than the header declares").
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import math
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from paretonas.data._limits import IDX_MIB_VARIABLE, format_bytes, idx_bytes_ceiling, too_big
from paretonas.data._sources import RawDataset, class_names_from_labels, md5_file
from paretonas.errors import DataError

_logger = logging.getLogger(__name__)

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (N, H, W)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (N)
IMAGES_SUFFIX = "images-idx3-ubyte"
LABELS_SUFFIX = "labels-idx1-ubyte"


def load_idx(directory: Path, label_values: list[int] | None = None) -> RawDataset:
    """Read the one images file and the one labels file in ``directory``; ``label_values``:
    the values the labels may hold (``data.label_values``; None: consecutive values)."""
    images_path = find_one(directory, IMAGES_SUFFIX)
    labels_path = find_one(directory, LABELS_SUFFIX)
    images, images_md5 = read_idx(images_path, IMAGES_MAGIC, "images (N, H, W)")
    labels, labels_md5 = read_idx(labels_path, LABELS_MAGIC, "labels (N)")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path.name} has {len(images)} images but {labels_path.name} has "
            f"{len(labels)} labels (in {directory})"
        )
    if len(images) == 0:
        raise DataError(f"{images_path}: holds no images")
    if 0 in images.shape[1:]:
        raise DataError(f"{images_path}: its images are {_dims(images.shape[1:])} pixels")
    check_label_values(labels, labels_path, label_values)
    targets, class_names = class_names_from_labels(labels)
    _logger.debug("idx: %s %s, %s", images_path.name, images.shape, labels_path.name)
    return RawDataset.from_numpy(
        images[:, None, :, :],
        targets,
        class_names,
        {images_path.name: images_md5, labels_path.name: labels_md5},
        info={"images_file": images_path.name, "labels_file": labels_path.name},
    )


def check_label_values(labels: np.ndarray, path: Path, allowed: list[int] | None = None) -> None:
    """Refuse label values outside ``allowed`` (by default, one range of consecutive values:
    0..9, EMNIST letters' 1..26; values apart from the range holding most images are refused):
    every value becomes a class, so a stray 200 among 0..9 would be an eleventh class."""
    values, counts = np.unique(labels, return_counts=True)
    if allowed is None:  # the run of consecutive values holding the most images
        runs = np.split(np.arange(len(values)), np.flatnonzero(np.diff(values) > 1) + 1)
        main = max(runs, key=lambda run: counts[run].sum())
        expected = {int(v) for v in values[main]}
        rule = "one range of consecutive values"
    else:
        expected, rule = set(allowed), f"data.label_values {sorted(allowed)}"
    stray = [(int(v), int(n)) for v, n in zip(values, counts, strict=True) if v not in expected]
    if not stray:
        return
    shown = ", ".join(f"{value} ({n:,} image{'s' * (n != 1)})" for value, n in stray[:10])
    more = f" and {len(stray) - 10} more" if len(stray) > 10 else ""
    kept = sorted(int(v) for v in values if v in expected)
    hint = ""
    if len(values) <= 20:
        hint = f"; if they are classes, set data.label_values: {[int(v) for v in values]}"
    raise DataError(
        f"data.label_values: {path}: unexpected label value(s) {shown}{more} (expected "
        f"{rule}; the others are {_ranges(kept)}): fix the labels file{hint}"
    )


def _ranges(values: list[int]) -> str:
    """``0..9`` or ``3, 7, 9``: sorted integers, runs collapsed."""
    if not values:
        return "none"
    if values == list(range(values[0], values[-1] + 1)) and len(values) > 2:
        return f"{values[0]}..{values[-1]}"
    return ", ".join(map(str, values))


def find_one(directory: Path, suffix: str) -> Path:
    """The single ``*<suffix>`` or ``*<suffix>.gz`` file in ``directory``."""
    found = sorted(
        path
        for path in directory.iterdir()
        if path.is_file() and (path.name.endswith(suffix) or path.name.endswith(suffix + ".gz"))
    )
    if not found:
        raise DataError(f"data.path: {directory}: no *{suffix}[.gz] file")
    if len(found) > 1:
        names = ", ".join(path.name for path in found)
        raise DataError(f"data.path: {directory}: several *{suffix}[.gz] files: {names}")
    return found[0]


def read_idx(path: Path, magic: int, what: str) -> tuple[np.ndarray, str]:
    """The values of one IDX file, shaped as its header declares, and the md5 of the file on
    disk; every refusal names the file (see the module for what is read and when)."""
    limit = idx_bytes_ceiling()
    gzipped = path.suffix == ".gz"
    try:
        with _opened(path, gzipped) as stream:
            shape = _read_header(stream, path, magic, what)
            expected = math.prod(shape)
            if not gzipped:
                _check_body_size(path, shape, path.stat().st_size - 4 - 4 * len(shape))
            if expected > limit:
                raise DataError(
                    f"{path}: header declares {_dims(shape)} = {format_bytes(expected)} of "
                    f"values, past the ceiling of {format_bytes(limit)} (${IDX_MIB_VARIABLE}, in "
                    "MiB): raise it to read this file"
                )
            on_disk = path.stat().st_size
            if gzipped and on_disk > limit:
                raise too_big(path, "a gzip file of", on_disk, limit, IDX_MIB_VARIABLE)
            body = stream.read(expected + 1)  # one byte past the values tells of more
    except EOFError:
        raise DataError(f"{path}: truncated gzip file") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: not a valid gzip file: {exc}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    _check_body_size(path, shape, len(body), bounded=gzipped)  # a plain file: changed since
    values = np.frombuffer(body, dtype=np.uint8, count=expected).reshape(shape)
    return values, md5_file(path)


@contextlib.contextmanager
def _opened(path: Path, gzipped: bool) -> Iterator[BinaryIO]:
    """``path`` opened for reading, decompressed on the fly when it is gzipped."""
    with open(path, "rb") as handle:
        if not gzipped:
            yield handle
            return
        with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
            yield stream  # type: ignore[misc]


def _read_header(stream: BinaryIO, path: Path, magic: int, what: str) -> tuple[int, ...]:
    """Check the magic number and return the dimensions the header declares."""
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    head = stream.read(4)
    if len(head) < 4:
        raise DataError(f"{path}: truncated: {len(head)} bytes, shorter than an IDX header")
    found = int.from_bytes(head, "big")
    if found != magic:
        hint = " (a gzip file without .gz in its name?)" if head[:2] == b"\x1f\x8b" else ""
        raise DataError(
            f"{path}: wrong magic number: expected 0x{magic:08x} (IDX {what}), "
            f"found 0x{found:08x}{hint}"
        )
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path}: truncated: {4 + len(dims)} bytes, header needs {header_size}")
    return tuple(int.from_bytes(dims[i : i + 4], "big") for i in range(0, 4 * ndim, 4))


def _check_body_size(path: Path, shape: tuple[int, ...], body: int, bounded: bool = False) -> None:
    """Refuse a body shorter or longer than the ``shape`` values; ``bounded``: ``body`` was
    read up to one byte past them (a gzip stream), so "longer" cannot say by how much."""
    expected = math.prod(shape)
    if body < expected:
        raise DataError(
            f"{path}: truncated: header says {_dims(shape)} = {expected:,} bytes "
            f"of values, found {body:,}"
        )
    if body > expected and bounded:
        raise DataError(
            f"{path}: holds more than the {_dims(shape)} = {expected:,} bytes of values its "
            "header declares (decompression stopped there)"
        )
    if body > expected:
        raise DataError(
            f"{path}: {body - expected:,} unexpected bytes after the "
            f"{_dims(shape)} values the header declares"
        )


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))
