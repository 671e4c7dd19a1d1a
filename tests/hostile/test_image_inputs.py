"""Hostile images, IDX files and folder names, one row per case, each run as a user
runs it (`paretonas prepare-data`, `paretonas init`): images that are legitimate are stored
right (the prepared `.pt` is loaded and compared with a correct conversion); what cannot be
read ends in one line naming the file and the value, exit 2, nothing written."""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from paretonas.data import SPLITS, split_path
from tests.cli.test_init import paretonas_init
from tests.conftest import paretonas
from tests.test_hostile_inputs import one_line_error, write_config

SIZE = 8  # data.img_size of the pixel cases: most images are drawn at that size, not resized
PER_CLASS = 3  # the split minimum: one image each for train, val and test


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def two_classes(root: Path, name: str, data: bytes) -> Path:
    """Classes a/ and b/, each holding ``PER_CLASS`` copies of one image file."""
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i in range(PER_CLASS):
            (root / label / f"{i}{name}").write_bytes(data)
    return root


def resized(pixels: np.ndarray) -> np.ndarray:
    """The expected stored image (C x SIZE x SIZE) of 8-bit ``pixels`` (H x W or H x W x 3)."""
    image = Image.fromarray(pixels).resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    array = np.asarray(image)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def bands(*colors) -> np.ndarray:
    """SIZE x SIZE pixels in vertical bands of equal width, one a color."""
    width = SIZE // len(colors)
    return np.concatenate([np.full((SIZE, width, len(c)), c, np.uint8) for c in colors], axis=1)


# Each writer makes a source folder and returns (the stored image every row must hold, the
# largest difference allowed): a correct conversion computed here, not by the package.
def gradient_16bit(root: Path) -> tuple[np.ndarray, int]:
    values = np.linspace(1000, 65000, 64 * 64).reshape(64, 64).astype(np.uint16)
    two_classes(root, ".png", encoded(Image.fromarray(values)))  # mode I;16
    return resized(np.rint(values / 257).astype(np.uint8)), 1


def int32_tiff(root: Path) -> tuple[np.ndarray, int]:
    values = np.linspace(0, 65535, SIZE * SIZE).reshape(SIZE, SIZE).astype(np.int32)
    two_classes(root, ".tif", encoded(Image.fromarray(values), "TIFF"))  # mode I
    return resized(np.rint(values / 257).astype(np.uint8)), 1


def float_tiff(root: Path) -> tuple[np.ndarray, int]:
    values = np.linspace(0, 1, SIZE * SIZE).reshape(SIZE, SIZE).astype(np.float32)
    two_classes(root, ".tif", encoded(Image.fromarray(values), "TIFF"))  # mode F
    return resized(np.rint(values * 255).astype(np.uint8)), 1


CMYK = [(255, 0, 0, 0), (0, 255, 255, 0), (0, 0, 0, 255), (128, 0, 0, 128)]


def cmyk_rgb(c: int, m: int, y: int, k: int) -> tuple[int, ...]:
    return tuple(round((255 - v) * (255 - k) / 255) for v in (c, m, y))


def cmyk_tiff(root: Path) -> tuple[np.ndarray, int]:
    image = Image.fromarray(bands(*CMYK), "CMYK")
    two_classes(root, ".tif", encoded(image, "TIFF"))
    return resized(bands(*(cmyk_rgb(*c) for c in CMYK))), 1


def cmyk_jpeg(root: Path) -> tuple[np.ndarray, int]:
    image = Image.new("CMYK", (SIZE, SIZE), (255, 0, 0, 0))  # cyan, one colour: no ringing
    two_classes(root, ".jpg", encoded(image, "JPEG", quality=100))
    return resized(bands((0, 255, 255))), 3


def palette_transparency(root: Path) -> tuple[np.ndarray, int]:
    """Index 1 (blue in the palette) is transparent: it shows white, not blue."""
    image = Image.fromarray(np.repeat([[1] * 4 + [0] * 4], SIZE, axis=0).astype(np.uint8), "P")
    image.putpalette([255, 0, 0, 0, 0, 255])
    two_classes(root, ".png", encoded(image, transparency=1))
    return resized(bands((255, 255, 255), (255, 0, 0))), 1


def palette_rgba(root: Path) -> tuple[np.ndarray, int]:
    """A palette with alpha: clear green, half-transparent black, opaque red."""
    index = np.repeat([[0] * 3 + [1] * 2 + [2] * 3], SIZE, axis=0).astype(np.uint8)
    image = Image.fromarray(index, "P")
    image.putpalette([0, 255, 0, 0, 0, 0, 0, 128, 255, 0, 0, 255], rawmode="RGBA")
    two_classes(root, ".png", encoded(image))
    over_white = round(255 * 127 / 255)
    expected = np.concatenate(
        [bands((255, 255, 255))[:, :3], bands((over_white,) * 3)[:, :2], bands((255, 0, 0))[:, :3]],
        axis=1,
    )
    return resized(expected), 1


def gray_alpha(root: Path) -> tuple[np.ndarray, int]:
    """LA: gray 10 opaque, black half-transparent, black clear -> 10, 127, 255 (one channel)."""
    pixels = bands((10, 255), (0, 128), (0, 0), (0, 0))
    two_classes(root, ".png", encoded(Image.fromarray(pixels, "LA")))
    return resized(bands((10,), (127,), (255,), (255,))[..., 0]), 1


def animated_gif(root: Path) -> tuple[np.ndarray, int]:
    frames = [Image.new("RGB", (SIZE, SIZE), color) for color in ((255, 0, 0), (0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    two_classes(root, ".gif", buffer.getvalue())
    return resized(bands((255, 0, 0))), 0  # the first frame


def one_pixel(root: Path) -> tuple[np.ndarray, int]:
    two_classes(root, ".png", encoded(Image.new("RGB", (1, 1), (9, 200, 30))))
    return resized(bands((9, 200, 30))), 0


def wide_strip(root: Path) -> tuple[np.ndarray, int]:
    ramp = np.tile(np.linspace(0, 255, 10_000).round().astype(np.uint8), (10, 1))
    two_classes(root, ".png", encoded(Image.fromarray(ramp)))  # 10000 x 10
    return resized(ramp), 0


PIXEL_CASES: list[tuple[str, Callable[[Path], tuple[np.ndarray, int]]]] = [
    ("1: 16-bit gray gradient 1000..65000 (I;16 PNG)", gradient_16bit),
    ("1: 32-bit integer TIFF 0..65535 (I)", int32_tiff),
    ("1: float TIFF 0..1 (F)", float_tiff),
    ("1: CMYK TIFF (cyan, red, black, 50% cyan + 50% black)", cmyk_tiff),
    ("1: CMYK JPEG (cyan)", cmyk_jpeg),
    ("1: palette with a transparent index", palette_transparency),
    ("1: palette with RGBA entries", palette_rgba),
    ("1: gray with alpha (LA)", gray_alpha),
    ("1: animated GIF: the first frame", animated_gif),
    ("1: a 1x1 image", one_pixel),
    ("1: a 10000x10 image", wide_strip),
]


def prepare(tmp_path: Path, folder: Path, env: dict[str, str] | None = None, **data):
    """`paretonas prepare-data` of ``folder`` (an imagefolder unless ``data`` says otherwise)
    into ``tmp_path/out``: (the finished process, the out folder)."""
    data = {"source": "imagefolder", "path": str(folder), **data}
    config = write_config(tmp_path / "c.yaml", data=data)
    out = tmp_path / "out"
    return paretonas("prepare-data", "--config", str(config), "--out", str(out), env=env), out


@pytest.mark.parametrize(("case", "write"), PIXEL_CASES, ids=[c[0] for c in PIXEL_CASES])
def test_stored_pixels_are_a_correct_conversion(tmp_path, case, write):
    expected, tolerance = write(tmp_path / "images")
    result, out = prepare(tmp_path, tmp_path / "images", img_size=SIZE)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    stored = torch.cat(
        [torch.load(split_path(out, s), weights_only=True)["images"] for s in SPLITS[:3]]
    ).numpy()
    assert stored.shape == (2 * PER_CLASS, *expected.shape)
    difference = np.abs(stored.astype(int) - expected.astype(int)).max()
    assert difference <= tolerance, (stored[0], expected)


def test_a_16_bit_gradient_keeps_its_order_and_range(tmp_path):
    """Case 1 in numbers: 1000..65000 of 65535 is ~4..253 of 255, increasing row by row."""
    gradient_16bit(tmp_path / "images")
    result, out = prepare(tmp_path, tmp_path / "images", img_size=32)
    assert result.returncode == 0, result.stderr
    image = torch.load(split_path(out, "full/train"), weights_only=True)["images"][0, 0].numpy()
    assert image.dtype == np.uint8 and image.shape == (32, 32)
    assert 4 <= image.min() <= 8 and 249 <= image.max() <= 253
    assert (np.diff(image.astype(int).ravel()) >= 0).all()  # row-major, as the gradient is
    assert len(np.unique(image)) > 100  # clipped, all would be 255: ~5 levels a row


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of ``size`` bytes that takes no disk space: ``head`` then a hole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head)
    os.truncate(path, size)
    return path


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` gray pixels and holds none."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + chunk + end


def small_pngs(root: Path, size: int = SIZE) -> Path:
    return two_classes(root, ".png", encoded(Image.new("RGB", (size, size), (200, 10, 10))))


GIB = 1 << 30


def huge_image_file(root: Path) -> tuple[Path, dict]:
    small_pngs(root)
    head = encoded(Image.new("RGB", (SIZE, SIZE)))
    return sparse(root / "b" / "huge.png", 20 * GIB, head), {}


def pixels_past_the_ceiling(root: Path) -> tuple[Path, dict]:
    small_pngs(root, 64)  # 4,096 pixels: past 3,000, under twice it (Pillow's warning)
    return root / "a" / "0.png", {"PARETONAS_MAX_IMAGE_PIXELS": "3000"}


def pixels_past_twice_the_ceiling(root: Path) -> tuple[Path, dict]:
    small_pngs(root)
    bomb = root / "b" / "bomb.png"
    bomb.write_bytes(png_header(100_000, 100_000))  # Pillow's DecompressionBombError
    return bomb, {}


def bad_ceiling(root: Path) -> tuple[Path, dict]:
    small_pngs(root)
    return root, {"PARETONAS_MAX_IMAGE_MIB": "lots"}


# (case, writer -> (the file the line names, environment), what the line must also hold)
IMAGE_REFUSALS = [
    (
        "2: a 20 GB image file (sparse)",
        huge_image_file,
        ["an image file of 20.0 GiB, past the ceiling of 1.0 GiB ($PARETONAS_MAX_IMAGE_MIB"],
    ),
    (
        "2: pixels past $PARETONAS_MAX_IMAGE_PIXELS (Pillow's bomb warning)",
        pixels_past_the_ceiling,
        ["an image of 4,096 pixels, past the ceiling of 3,000 ($PARETONAS_MAX_IMAGE_PIXELS)"],
    ),
    (
        "2: a header declaring 100000x100000 pixels (Pillow's bomb error)",
        pixels_past_twice_the_ceiling,
        ["an image of 10,000,000,000 pixels, past the ceiling of 89,478,485"],
    ),
    (
        "2: a ceiling that is not a number",
        bad_ceiling,
        ["$PARETONAS_MAX_IMAGE_MIB: expected a positive whole number, got 'lots'"],
    ),
]


@pytest.mark.parametrize(
    ("case", "write", "needles"), IMAGE_REFUSALS, ids=[c[0] for c in IMAGE_REFUSALS]
)
def test_images_too_big_are_refused_in_one_line(tmp_path, case, write, needles):
    named, env = write(tmp_path / "images")
    result, out = prepare(tmp_path, tmp_path / "images", env, img_size=SIZE)
    one_line_error(result, "prepare-data", *needles)
    if named != tmp_path / "images":
        assert f"error: {named}: " in result.stderr
    assert "DecompressionBomb" not in result.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "images"]


def test_init_refuses_a_huge_image_in_the_same_line(project):
    """Case 2 through `paretonas init`, which reads the folder before any config exists."""
    named, _ = huge_image_file(project / "images")
    result = paretonas_init(project, "images")
    relative = named.relative_to(project)
    one_line_error(
        result, "init", f"error: {relative}: an image file of 20.0 GiB, past the ceiling"
    )
    assert sorted(p.name for p in (project / "config").iterdir()) == ["search_space.yaml"]
