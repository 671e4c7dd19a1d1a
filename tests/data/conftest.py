"""Fixtures for the data stage: configs, a prepared digits directory, generated sources."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from paretonas.data import prepare_data
from tests.conftest import REPO

MNIST_DIR = REPO / "data" / "mnist-t10k"
COLORS = {
    "red": (220, 30, 30),
    "green": (30, 180, 40),
    "blue": (40, 60, 220),
    "yellow": (230, 210, 20),
    "purple": (140, 40, 160),
    "cyan": (20, 200, 210),
}


def config(seed: int = 0, **data) -> dict:
    """A workflow config dict with only ``seed`` and the given ``data`` keys (defaults fill in)."""
    return {"seed": seed, "data": data}


def assert_no_output(out_dir: Path) -> None:
    """Neither ``out_dir`` nor a staging directory next to it was left behind."""
    assert not out_dir.exists()
    leftovers = [p.name for p in out_dir.parent.iterdir() if p.name.startswith(f".{out_dir.name}.")]
    assert leftovers == []


def write_imagefolder(
    root: Path,
    classes: dict[str, tuple[int, int, int]] | None = None,
    per_class: int = 12,
    sizes: tuple[tuple[int, int], ...] = ((32, 32),),
    gray: bool = False,
) -> Path:
    """Class folders of colored (or gray) shapes, alternating PNG and JPEG, cycling ``sizes``."""
    classes = COLORS if classes is None else classes
    rng = np.random.default_rng(0)
    for class_index, (name, color) in enumerate(classes.items()):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            width, height = sizes[i % len(sizes)]
            background = tuple(int(v) for v in rng.integers(0, 60, 3))
            image = Image.new("RGB", (width, height), background)
            draw = ImageDraw.Draw(image)
            box = [width // 6 + i % 3, height // 6, width * 5 // 6, height * 5 // 6 - i % 2]
            if class_index % 2:
                draw.ellipse(box, fill=color)
            else:
                draw.rectangle(box, fill=color)
            if gray:
                image = image.convert("L")
            suffix = ".jpg" if i % 2 else ".png"
            image.save(folder / f"img{i:03d}{suffix}", quality=95)
    return root


def write_idx(
    path: Path, magic: int, values: np.ndarray, dims: tuple[int, ...] | None = None
) -> Path:
    """An IDX file: big-endian magic, one uint32 per dimension, uint8 values (.gz by suffix)."""
    dims = values.shape if dims is None else dims
    data = struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims)
    data += values.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    return path


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory) -> Path:
    """digits prepared once per module with the default config and seed 0."""
    out_dir = tmp_path_factory.mktemp("digits") / "data"
    prepare_data(config(source="digits"), out_dir)
    return out_dir


@pytest.fixture
def small_idx(tmp_path: Path):
    """Write a valid tiny IDX pair (30 images 5x5, 3 classes) and return its directory."""

    def make(n_images: int = 30, n_labels: int = 30) -> Path:
        directory = tmp_path / "idx"
        directory.mkdir()
        rng = np.random.default_rng(1)
        write_idx(directory / "x-images-idx3-ubyte", 0x803, rng.integers(0, 256, (n_images, 5, 5)))
        write_idx(directory / "x-labels-idx1-ubyte.gz", 0x801, np.arange(n_labels) % 3)
        return directory

    return make
