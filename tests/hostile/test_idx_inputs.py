"""Hostile IDX files, one row per case, run as a user runs `paretonas prepare-data`: a header
whose dimensions overflow, a gzip bomb, values past the ceiling; each ends in one line naming
the file and the dimensions, exit 2, nothing written."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from tests.data.conftest import write_idx
from tests.hostile.test_image_inputs import prepare
from tests.test_hostile_inputs import one_line_error


def idx_pair(root: Path, images: np.ndarray, dims=None, suffix: str = "", tail: bytes = b""):
    """An IDX pair in ``root``: the images file (``dims`` in its header; ``tail`` appended to
    it) and labels 0, 1, 2, ... a class each third."""
    root.mkdir(parents=True)
    path = write_idx(root / f"x-images-idx3-ubyte{suffix}", 0x803, images, dims)
    with open(path, "ab") as handle:
        handle.write(tail)
    write_idx(root / "x-labels-idx1-ubyte", 0x801, np.arange(len(images)) % 3)
    return path


HUGE = (2**31 - 1,) * 3
BOMB = gzip.compress(bytes(1 << 24), mtime=0) * 64  # 64 more gzip members: 1 GiB of zeros


# (case, writer -> (the file the line names, environment), what the line must also hold)
IDX_REFUSALS = [
    (
        "3: dimensions 2**31-1 x 2**31-1 x 2**31-1",
        lambda root: (idx_pair(root, np.zeros((12, 4, 4)), HUGE), {}),
        ["truncated: header says 2147483647x2147483647x2147483647 = 9,903,520,300,447,984,"],
    ),
    (
        "3: the same dimensions, gzipped",
        lambda root: (idx_pair(root, np.zeros((12, 4, 4)), HUGE, ".gz"), {}),
        [
            "header declares 2147483647x2147483647x2147483647 = 9.2e+18 GiB of values, past the "
            "ceiling of 4.0 GiB ($PARETONAS_MAX_IDX_MIB, in MiB)"
        ],
    ),
    (
        "4: a gzip bomb: 1 GiB of zeros after the values",
        lambda root: (idx_pair(root, np.zeros((12, 4, 4)), None, ".gz", BOMB), {}),
        [
            "holds more than the 12x4x4 = 192 bytes of values its header declares "
            "(decompression stopped there)"
        ],
    ),
    (
        "4: values past a lowered $PARETONAS_MAX_IDX_MIB",
        lambda root: (
            idx_pair(root, np.zeros((2100, 32, 32)), None, ".gz"),
            {"PARETONAS_MAX_IDX_MIB": "1"},
        ),
        ["header declares 2100x32x32 = 2.1 MiB of values, past the ceiling of 1.0 MiB"],
    ),
    (
        "3: images of 0 pixels",
        lambda root: (idx_pair(root, np.zeros((12, 0, 4))), {}),
        ["its images are 0x4 pixels"],
    ),
]


@pytest.mark.parametrize(
    ("case", "write", "needles"), IDX_REFUSALS, ids=[c[0] for c in IDX_REFUSALS]
)
def test_idx_files_are_refused_in_one_line(tmp_path, case, write, needles):
    named, env = write(tmp_path / "idx")
    result, out = prepare(tmp_path, tmp_path / "idx", env, source="idx")
    one_line_error(result, "prepare-data", f"error: {named}: ", *needles)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "idx"]
