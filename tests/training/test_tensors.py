"""Splits, normalization and the vectorized augmentation."""

from __future__ import annotations

import pytest
import torch

from paretonas.errors import ConfigError, DataError
from paretonas.training import (
    Augment,
    DeviceImages,
    Split,
    augment_batch,
    horizontal_flip,
    normalization,
    random_crop,
)


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


def labelled_images(n: int = 64, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose every pixel is ``label + 1`` plus a left-to-right ramp (so flips show)."""
    labels = torch.arange(n) % 10
    ramp = torch.linspace(0, 0.5, size).view(1, 1, 1, size)
    images = (labels.view(n, 1, 1, 1) + 1).float() + ramp
    return images.expand(n, 2, size, size).contiguous(), labels


def test_random_crop_shifts_each_image_and_pads_with_fill():
    images, labels = labelled_images()
    out = random_crop(images, 2, generator(), fill=-1.0)
    assert out.shape == images.shape
    assert not torch.equal(out, images)
    changed = (out != images).flatten(1).any(dim=1)
    assert 0 < int(changed.sum()) < len(images)  # offsets differ per sample; some are (2, 2)
    for image, label in zip(out, labels, strict=True):
        inside = image[image != -1.0]
        # every kept pixel still belongs to this sample: label + 1 + ramp in [0, 0.5]
        assert bool(((inside >= label + 1) & (inside <= label + 1.5)).all())
        assert inside.numel() >= 2 * 4 * 4  # at most 2 pixels of padding per side


def test_random_crop_is_reproducible_and_zero_padding_is_identity():
    images, _ = labelled_images()
    torch.testing.assert_close(
        random_crop(images, 3, generator(5)), random_crop(images, 3, generator(5))
    )
    assert random_crop(images, 0, generator()) is images


def test_random_crop_per_channel_fill():
    images = torch.zeros(16, 2, 4, 4)
    out = random_crop(images, 4, generator(), fill=torch.tensor([1.0, 2.0]).view(1, 2, 1, 1))
    assert set(out[:, 0].unique().tolist()) <= {0.0, 1.0}
    assert set(out[:, 1].unique().tolist()) <= {0.0, 2.0}
    assert (out[:, 1] == 2.0).any()


def test_horizontal_flip_mirrors_some_images_only():
    images, _ = labelled_images()
    out = horizontal_flip(images, generator())
    flipped = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, images, strict=True)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, images, strict=True)])
    assert bool((flipped | kept).all())
    assert 10 < int(flipped.sum()) < 54
    # the label (the image's level) stays with its image
    torch.testing.assert_close(out.floor(), images.floor())


def test_augment_batch_keeps_shape_and_labels():
    images, labels = labelled_images()
    out = augment_batch(images, Augment(random_crop_padding=1, horizontal_flip=True), generator())
    assert out.shape == images.shape and out.dtype == images.dtype
    level = out.flatten(1).max(dim=1).values.floor() - 1
    torch.testing.assert_close(level.long(), labels)
    assert augment_batch(images, Augment(), generator()) is images
