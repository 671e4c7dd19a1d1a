"""Splits, resizing and normalization."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paretonas.errors import ConfigError, DataError
from paretonas.training import DeviceImages, Split, normalization, resize_images


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_split_checks_dtypes_and_lengths():
    images = torch.zeros(4, 1, 8, 8, dtype=torch.uint8)
    with pytest.raises(DataError, match=r"Split\.images: expected uint8"):
        Split(images.float(), torch.zeros(4, dtype=torch.int64))
    with pytest.raises(DataError, match=r"Split\.labels: expected int64"):
        Split(images, torch.zeros(4, dtype=torch.int32))
    with pytest.raises(DataError, match=r"len\(images\)=4 and len\(labels\)=3"):
        Split(images, torch.zeros(3, dtype=torch.int64))


def test_normalization_matches_the_formula():
    images = torch.randint(0, 256, (5, 3, 4, 4), dtype=torch.uint8, generator=generator())
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
    expected = (images.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(
        std
    ).view(1, 3, 1, 1)
    for prenormalize in (True, False):
        data = DeviceImages(images, mean, std, torch.device("cpu"), prenormalize=prenormalize)
        assert data.prenormalized is prenormalize
        torch.testing.assert_close(data.slice(0, 5), expected)
        torch.testing.assert_close(data.take(torch.tensor([4, 0])), expected[[4, 0]])


@pytest.mark.parametrize(
    ("mean", "std", "message"),
    [([0.5, 0.5], [0.2], "need 1 value"), ([0.5], [0.0], "std: every value must be > 0")],
)
def test_normalization_errors(mean, std, message):
    with pytest.raises(ConfigError, match=message):
        normalization(mean, std, 1)


@pytest.mark.parametrize("size", [16, 8])
def test_resize_shrinks_antialiased_as_pillow_does(size):
    """The data stage resizes with Pillow; a trial's shrink agrees with it (antialiased: on
    noise, plain bilinear sampling would be far off)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8))
    out = resize_images(images, size)
    assert out.shape == (3, 3, size, size) and out.dtype == torch.uint8
    aliased = torch.nn.functional.interpolate(images.float(), size=size, mode="bilinear")
    for image, resized, plain in zip(images, out, aliased, strict=True):
        pil = Image.fromarray(image.permute(1, 2, 0).numpy()).resize((size, size), Image.BILINEAR)
        expected = torch.from_numpy(np.asarray(pil).copy()).permute(2, 0, 1).int()
        assert int((resized.int() - expected).abs().max()) <= 2  # rounding only
        assert float((plain - expected).abs().mean()) > 10  # what no antialiasing would give


def test_resize_to_the_same_size_is_the_same_split():
    images = torch.randint(0, 256, (5, 1, 8, 8), dtype=torch.uint8, generator=generator())
    split = Split(images, torch.arange(5))
    assert resize_images(images, 8) is images
    assert split.resized((8, 8)) is split
    smaller = split.resized(4)
    assert smaller.images.shape == (5, 1, 4, 4) and torch.equal(smaller.labels, split.labels)
    assert torch.equal(split.resized(4).images, smaller.images)  # deterministic
