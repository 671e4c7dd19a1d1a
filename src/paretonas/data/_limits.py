"""Ceilings on what the data stage reads, checked before anything large is read or allocated.

A 20 GB file in a class folder, an image header declaring billions of pixels, or an IDX
header (or a gzip stream) promising more bytes than memory holds is refused in one line that
names the file, the value and the ceiling, instead of ending in a MemoryError. Data meant to be
bigger raises a ceiling through the environment (every step, Snakemake jobs included, reads it).
"""

from __future__ import annotations

from pathlib import Path

from paretonas.errors import DataError, env_ceiling

# One image file, read whole into memory before it is decoded.
MAX_IMAGE_MIB = 1024
# Decoded pixels of one image: Pillow's own default (MAX_IMAGE_PIXELS, ~0.25 GiB of RGBA).
MAX_IMAGE_PIXELS = 1024 * 1024 * 1024 // 4 // 3
# The values of one IDX file (on disk, and after gzip decompression): 8x EMNIST ByClass.
MAX_IDX_MIB = 4096

IMAGE_MIB_VARIABLE = "PARETONAS_MAX_IMAGE_MIB"
IMAGE_PIXELS_VARIABLE = "PARETONAS_MAX_IMAGE_PIXELS"
IDX_MIB_VARIABLE = "PARETONAS_MAX_IDX_MIB"


def image_bytes_ceiling() -> int:
    return env_ceiling(IMAGE_MIB_VARIABLE, MAX_IMAGE_MIB, DataError) << 20


def image_pixels_ceiling() -> int:
    return env_ceiling(IMAGE_PIXELS_VARIABLE, MAX_IMAGE_PIXELS, DataError)


def idx_bytes_ceiling() -> int:
    return env_ceiling(IDX_MIB_VARIABLE, MAX_IDX_MIB, DataError) << 20


def too_big(path: Path | str, what: str, size: int, limit: int, variable: str) -> DataError:
    """The one line for a file past a byte ceiling: its size, the ceiling and how to raise it."""
    return DataError(
        f"{path}: {what} {format_bytes(size)}, past the ceiling of {format_bytes(limit)} "
        f"(${variable}, in MiB): raise it to read this file"
    )


def format_bytes(size: int) -> str:
    """``1,024 bytes``, ``3.5 MiB``, ``20.0 GiB``, ``8.5e+18 GiB``: a size for one line."""
    if size < 1 << 20:
        return f"{size:,} bytes"
    if size < 1 << 30:
        return f"{size / 2**20:.1f} MiB"
    gib = size / 2**30
    return f"{gib:.1f} GiB" if gib < 1e6 else f"{gib:.2g} GiB"
