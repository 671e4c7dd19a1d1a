"""inspect_source: what a folder holds as the data stage reads it, and what it refuses."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from paretonas.data.inspect import inspect_source, sample_images
from paretonas.errors import DataError
from tests.data.conftest import write_idx


def save(path: Path, mode: str, size: tuple[int, int], value: int | tuple = 128) -> Path:
    """One image of ``size`` (width, height) in ``mode``, a ramp so it is not flat."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new(mode, size, value)
    image.putpixel((0, 0), 0 if mode in ("L", "P") else (0,) * len(mode))
    image.save(path)
    return path


def truncated_png(path: Path) -> Path:
    """A PNG whose header is intact and whose pixel data stops half-way."""
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), np.uint8)).save(
        buffer, "PNG"
    )
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


def mixed_folder(root: Path) -> Path:
    """cat: 7 RGB 40x30 + 3 RGBA 50x36 + a note; dog: 4 RGB 40x30, 5 L 24x24, a palette
    20x20 and a truncated PNG; a hidden file anywhere is ignored."""
    for i in range(7):
        save(root / "cat" / f"{i}.png", "RGB", (40, 30), (200, 30, 30))
    for i in range(3):
        save(root / "cat" / f"a{i}.png", "RGBA", (50, 36), (10, 200, 30, 255))
    (root / "cat" / "notes.txt").write_text("not an image\n")
    (root / "cat" / ".DS_Store").write_bytes(b"\0\0")
    for i in range(4):
        save(root / "dog" / f"{i}.jpg", "RGB", (40, 30), (30, 30, 200))
    for i in range(5):
        save(root / "dog" / f"g{i}.png", "L", (24, 24), 90)
    save(root / "dog" / "p.png", "P", (20, 20), 3)
    truncated_png(root / "dog" / "broken.png")
    return root


def test_imagefolder_counts_sizes_modes_and_bad_files(tmp_path):
    report = inspect_source(mixed_folder(tmp_path / "pets"))
    assert report.source == "imagefolder"
    assert report.class_names == ["cat", "dog"]
    assert report.counts == [10, 10]
    assert report.images == 20
    assert report.files == 21  # image files: the hidden file and notes.txt are not ones
    assert report.sizes == Counter({(40, 30): 11, (50, 36): 3, (24, 24): 5, (20, 20): 1})
    assert report.modes == Counter({"RGB": 11, "RGBA": 3, "L": 5, "P": 1})
    assert report.median_short_side == 30
    assert not report.gray
    bad = {b.path: b.kind for b in report.bad}
    assert bad == {"cat/notes.txt": "not an image", "dog/broken.png": "unreadable"}
    assert report.bad_fraction == pytest.approx(1 / 21)  # as prepare-data counts
    assert len(report.readable) == 20
    assert all(not path.endswith((".txt", "broken.png")) for path, _ in report.readable)


def test_gray_content_in_rgb_files_is_gray(tmp_path):
    for name in ("a", "b"):
        for i in range(3):
            save(tmp_path / "d" / name / f"{i}.png", "RGB", (16, 16), (77, 77, 77))
    report = inspect_source(tmp_path / "d")
    assert report.gray and report.modes == Counter({"RGB": 6})


def test_idx_folder(tmp_path):
    directory = tmp_path / "idx"
    directory.mkdir()
    rng = np.random.default_rng(0)
    write_idx(directory / "t-images-idx3-ubyte", 0x803, rng.integers(0, 256, (40, 12, 10)))
    write_idx(directory / "t-labels-idx1-ubyte.gz", 0x801, np.arange(40) % 4 + 3)
    report = inspect_source(directory)
    assert report.source == "idx"
    assert report.class_names == ["3", "4", "5", "6"]
    assert report.counts == [10, 10, 10, 10]
    assert report.sizes == Counter({(10, 12): 40})
    assert report.gray and report.bad == []
    images, labels = sample_images(report, 8, None, 1)
    assert images.shape == (8, 1, 12, 10) and images.dtype == np.uint8
    assert set(labels) <= {0, 1, 2, 3}


def test_sample_images_decodes_as_the_data_stage(tmp_path):
    report = inspect_source(mixed_folder(tmp_path / "pets"))
    images, labels = sample_images(report, 12, 16, 3)
    assert images.shape == (12, 3, 16, 16) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and set(labels) <= {0, 1}
    gray, _ = sample_images(report, 50, 20, 1)
    assert gray.shape == (20, 1, 20, 20)  # every readable image, no more


def two_files(root: Path) -> None:
    save(root / "x.png", "L", (8, 8))
    (root / "y.txt").write_text("hi")


def one_class(root: Path) -> None:
    for i in range(5):
        save(root / "only" / f"{i}.png", "L", (8, 8))


def too_few(root: Path) -> None:
    for i in range(5):
        save(root / "a" / f"{i}.png", "L", (8, 8))
    for i in range(2):
        save(root / "b" / f"{i}.png", "L", (8, 8))


def unreadable_class(root: Path) -> None:
    for i in range(5):
        save(root / "a" / f"{i}.png", "L", (8, 8))
    (root / "b").mkdir()
    (root / "b" / "x.png").write_bytes(b"not a png")


def empty_class(root: Path) -> None:
    for i in range(5):
        save(root / "a" / f"{i}.png", "L", (8, 8))
    (root / "b").mkdir()


@pytest.mark.parametrize(
    ("build", "where", "expected"),
    [
        (None, "", "no such directory"),
        (lambda root: None, "", "empty folder"),
        (two_files, "", "no images: 2 file(s) and no class folder; expected"),
        (one_class, "", "1 class ('only', 5 images); a classifier needs at least 2"),
        (
            too_few,
            "/b",
            "class 'b' has 2 readable image(s); a stratified train/val/test split "
            "needs at least 3 per class",
        ),
        (unreadable_class, "/b", "class 'b' has no readable image (1 file(s) Pillow cannot read"),
        (empty_class, "/b", "empty class folder 'b'"),
    ],
    ids=["missing", "empty", "no-class-dir", "one-class", "too-few", "unreadable", "empty-class"],
)
def test_refusals_name_the_folder_and_the_reason(tmp_path, build, where, expected):
    root = tmp_path / "mine"
    if build is not None:
        root.mkdir()
        build(root)
    with pytest.raises(DataError) as info:
        inspect_source(root)
    message = str(info.value)
    assert message.startswith(f"{root}{where}: "), message
    assert expected in message
    assert "data.path" not in message  # no config exists yet


def test_a_file_is_not_a_folder(tmp_path):
    path = save(tmp_path / "x.png", "L", (8, 8))
    with pytest.raises(DataError, match="not a directory"):
        inspect_source(path)
