"""The vectorized augmentation of training batches: what each op does to pixels, per-seed
determinism, and the policy applied in order."""

from __future__ import annotations

import pytest
import torch

from paretonas.training import (
    Augment,
    augment_batch,
    color_jitter,
    cutout,
    horizontal_flip,
    normalization,
    random_crop,
)


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


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


def test_color_jitter_scales_brightness_per_image_within_the_pixel_range():
    # a flat gray image: contrast and saturation leave it as it is, brightness scales it
    images = torch.full((64, 3, 4, 4), 0.5)
    out = color_jitter(images, 0.4, generator())
    assert out.shape == images.shape
    per_image = out.flatten(1)
    assert torch.equal(per_image.min(dim=1).values, per_image.max(dim=1).values)  # still flat
    levels = per_image[:, 0]
    assert float(levels.min()) >= 0.5 * 0.6 - 1e-6 and float(levels.max()) <= 0.5 * 1.4 + 1e-6
    assert len(levels.unique()) == 64  # each image its own factor
    # a bright image cannot leave the pixel range; normalized input comes back normalized
    scale, shift = normalization([0.4, 0.5, 0.6], [0.2, 0.25, 0.3], 3)
    pixels = torch.randint(0, 256, (32, 3, 6, 6), generator=generator(1)).float()
    jittered = color_jitter(pixels * scale + shift, 0.9, generator(2), scale, shift)
    back = (jittered - shift) / scale
    assert float(back.min()) >= -1e-3 and float(back.max()) <= 255 + 1e-3
    assert not torch.allclose(back, pixels)


def test_color_jitter_keeps_gray_gray_and_runs_on_one_channel():
    gray = torch.rand(16, 1, 5, 5, generator=generator())
    one = color_jitter(gray, 0.3, generator(4))
    assert one.shape == gray.shape and not torch.equal(one, gray)
    # R = G = B stays so: saturation blends towards the gray it already is
    out = color_jitter(gray.expand(16, 3, 5, 5), 0.5, generator(4))
    torch.testing.assert_close(out[:, 0], out[:, 1])
    torch.testing.assert_close(out[:, 1], out[:, 2])
    assert color_jitter(gray, 0.0, generator()) is gray


def test_cutout_blanks_one_clipped_square_per_image():
    images = torch.ones(200, 2, 10, 10)
    out = cutout(images, 4, generator(), fill=0.0)
    assert out.shape == images.shape
    blank = out[:, 0] == 0
    assert torch.equal(blank, out[:, 1] == 0)  # every channel alike
    counts = blank.flatten(1).sum(dim=1)
    assert int(counts.min()) >= 2 * 2 and int(counts.max()) == 4 * 4  # clipped at borders
    for mask in blank[:20]:  # a rectangle: its bounding box is all blank
        rows, cols = mask.nonzero(as_tuple=True)
        box = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert bool(box.all())
    centers = {tuple(m.nonzero().float().mean(dim=0).round().tolist()) for m in blank}
    assert len(centers) > 30  # a random place per image
    assert torch.equal(out, cutout(images, 4, generator(), fill=0.0))
    assert cutout(images, 0, generator()) is images


POLICY = Augment(random_crop_padding=2, horizontal_flip=True, color_jitter=0.3, cutout=3)


def test_the_policy_replays_from_its_seed_and_changes_pixels():
    images = torch.randn(32, 3, 8, 8, generator=generator(9))
    original = images.clone()
    first = augment_batch(images, POLICY, generator(5))
    assert first.shape == images.shape and first.dtype == images.dtype
    assert torch.equal(first, augment_batch(images, POLICY, generator(5)))
    assert not torch.equal(first, augment_batch(images, POLICY, generator(6)))
    assert not torch.equal(first, images)
    assert torch.equal(images, original)  # the input is left alone


@pytest.mark.parametrize(
    "key",
    [
        {"random_crop_padding": 2},
        {"horizontal_flip": True},
        {"color_jitter": 0.3},
        {"cutout": 3},
    ],
    ids=lambda d: next(iter(d)),
)
def test_each_key_alone_changes_the_batch(key):
    images = torch.randn(32, 3, 8, 8, generator=generator(9))
    policy = Augment(**key)
    assert policy.enabled
    out = augment_batch(images, policy, generator(1))
    changed = (out != images).flatten(1).any(dim=1)
    assert int(changed.sum()) > 0
