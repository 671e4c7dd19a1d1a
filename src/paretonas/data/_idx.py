"""MNIST-format IDX files (``*images-idx3-ubyte`` + ``*labels-idx1-ubyte``, optionally gzipped).

The format is a big-endian header (magic number, then one uint32 per dimension) followed by
raw uint8 values; numpy reads it without copies. Every check names the file it failed on.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from pathlib import Path

import numpy as np

from paretonas.data._sources import RawDataset, class_names_from_labels, md5_bytes
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
    images_raw, images_md5 = _read(images_path)
    labels_raw, labels_md5 = _read(labels_path)
    images = parse_idx(images_raw, images_path, IMAGES_MAGIC, "images (N, H, W)")
    labels = parse_idx(labels_raw, labels_path, LABELS_MAGIC, "labels (N)")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path.name} has {len(images)} images but {labels_path.name} has "
            f"{len(labels)} labels (in {directory})"
        )
    if len(images) == 0:
        raise DataError(f"{images_path}: holds no images")
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


def _read(path: Path) -> tuple[bytes, str]:
    """The decompressed bytes of ``path`` and the md5 of the bytes on disk."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.suffix != ".gz":
        return raw, md5_bytes(raw)
    try:
        return gzip.decompress(raw), md5_bytes(raw)
    except EOFError:
        raise DataError(f"{path}: truncated gzip file") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: not a valid gzip file: {exc}") from None


def parse_idx(data: bytes, path: Path, magic: int, what: str) -> np.ndarray:
    """Check the header of one IDX file and return its values as a uint8 array."""
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(data) < 4:
        raise DataError(f"{path}: truncated: {len(data)} bytes, shorter than an IDX header")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        hint = " (a gzip file without .gz in its name?)" if data[:2] == b"\x1f\x8b" else ""
        raise DataError(
            f"{path}: wrong magic number: expected 0x{magic:08x} (IDX {what}), "
            f"found 0x{found:08x}{hint}"
        )
    if len(data) < header_size:
        raise DataError(f"{path}: truncated: {len(data)} bytes, header needs {header_size}")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape))
    body = len(data) - header_size
    if body < expected:
        raise DataError(
            f"{path}: truncated: header says {'x'.join(map(str, shape))} = {expected} bytes "
            f"of values, found {body}"
        )
    if body > expected:
        raise DataError(
            f"{path}: {body - expected} unexpected bytes after the "
            f"{'x'.join(map(str, shape))} values the header declares"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)
