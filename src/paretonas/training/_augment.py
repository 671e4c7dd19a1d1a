"""Augmentation of training batches: a few batched tensor ops per batch, no per-sample loop.

Every function takes a normalized float batch (N x C x H x W, as ``DeviceImages`` hands it
out) and draws its randomness from the caller's ``torch.Generator`` (never the global RNG), so
a trial's training replays bit for bit. ``augment_batch`` applies an ``Augment`` policy: crop,
flip, color jitter, cutout, in that order. Validation and test batches never come here.
"""

from __future__ import annotations

import torch

from paretonas.training._config import Augment

# ITU-R 601 luma weights (torchvision's rgb_to_grayscale): contrast and saturation blend
# towards this gray.
_LUMA = (0.299, 0.587, 0.114)


def random_crop(
    images: torch.Tensor,
    padding: int,
    generator: torch.Generator,
    fill: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """Pad every image by ``padding`` (with ``fill``, per channel) and cut each back to size
    at its own random offset: one batched gather, no per-sample loop."""
    if padding <= 0:
        return images
    n, c, h, w = images.shape
    device = images.device
    fill = torch.as_tensor(fill, dtype=images.dtype, device=device).reshape(-1, 1, 1)
    padded = fill.expand(c, h + 2 * padding, w + 2 * padding).repeat(n, 1, 1, 1)
    padded[:, :, padding : padding + h, padding : padding + w] = images
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator, device=device)
    rows = (offsets[0].view(n, 1) + torch.arange(h, device=device)).view(n, 1, h, 1)
    cols = (offsets[1].view(n, 1) + torch.arange(w, device=device)).view(n, 1, 1, w)
    samples = torch.arange(n, device=device).view(n, 1, 1, 1)
    channels = torch.arange(c, device=device).view(1, c, 1, 1)
    return padded[samples, channels, rows, cols]


def horizontal_flip(
    images: torch.Tensor, generator: torch.Generator, probability: float = 0.5
) -> torch.Tensor:
    """Mirror each image left-right with ``probability``: one mask, one ``torch.where``."""
    mask = torch.rand(len(images), generator=generator, device=images.device) < probability
    return torch.where(mask.view(-1, 1, 1, 1), images.flip(-1), images)


def color_jitter(
    images: torch.Tensor,
    strength: float,
    generator: torch.Generator,
    scale: torch.Tensor | float = 1 / 255,
    shift: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """Scale each image's brightness, contrast and (RGB only) saturation by its own factors,
    drawn uniformly from [1 - strength, 1 + strength] (torchvision's ColorJitter(s, s, s) in a
    fixed order), clamped to the pixel range after each. ``images`` are normalized as
    ``pixels * scale + shift`` with pixels in 0..255 (``normalization``); by default they are
    pixels / 255."""
    if strength <= 0:
        return images
    n, channels = images.shape[:2]
    device, dtype = images.device, images.dtype
    unit = 255.0 * torch.as_tensor(scale, dtype=dtype, device=device)
    shift = torch.as_tensor(shift, dtype=dtype, device=device)
    pixels = (images - shift) / unit  # in [0, 1]
    factors = 1.0 + strength * (
        2.0 * torch.rand(3, n, 1, 1, 1, generator=generator, device=device, dtype=dtype) - 1.0
    )
    pixels = (pixels * factors[0]).clamp_(0.0, 1.0)  # brightness
    mean = _gray(pixels).mean(dim=(1, 2, 3), keepdim=True)
    pixels = torch.lerp(mean, pixels, factors[1]).clamp_(0.0, 1.0)  # contrast
    if channels == 3:
        pixels = torch.lerp(_gray(pixels), pixels, factors[2]).clamp_(0.0, 1.0)  # saturation
    return pixels * unit + shift


def _gray(pixels: torch.Tensor) -> torch.Tensor:
    """N x 1 x H x W luma of RGB ``pixels`` (the channel mean otherwise)."""
    if pixels.shape[1] != 3:
        return pixels.mean(dim=1, keepdim=True)
    weights = torch.tensor(_LUMA, dtype=pixels.dtype, device=pixels.device).view(1, 3, 1, 1)
    return (pixels * weights).sum(dim=1, keepdim=True)


def cutout(
    images: torch.Tensor,
    size: int,
    generator: torch.Generator,
    fill: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """Blank one ``size`` x ``size`` square per image, centered on a random pixel and clipped
    at the border (DeVries & Taylor 2017), with ``fill``: by default 0, the dataset's mean
    color in normalized units. One mask from broadcast comparisons, one ``torch.where``."""
    if size <= 0:
        return images
    n, _, h, w = images.shape
    device = images.device
    top = torch.randint(0, h, (n, 1, 1), generator=generator, device=device) - size // 2
    left = torch.randint(0, w, (n, 1, 1), generator=generator, device=device) - size // 2
    rows = torch.arange(h, device=device).view(1, h, 1)
    cols = torch.arange(w, device=device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
    fill = torch.as_tensor(fill, dtype=images.dtype, device=device)
    return torch.where(inside.unsqueeze(1), fill, images)


def augment_batch(
    images: torch.Tensor,
    augment: Augment,
    generator: torch.Generator,
    fill: torch.Tensor | float = 0.0,
    scale: torch.Tensor | float | None = None,
) -> torch.Tensor:
    """Apply ``augment`` to a normalized training batch: crop (padding with ``fill``, the
    normalized black), flip, color jitter, cutout (mean color). ``scale`` and ``fill`` are the
    normalization's (``pixels * scale + fill``; ``scale`` None: 1/255). Labels are unchanged
    by all of them."""
    if augment.random_crop_padding:
        images = random_crop(images, augment.random_crop_padding, generator, fill)
    if augment.horizontal_flip:
        images = horizontal_flip(images, generator)
    if augment.color_jitter:
        unit = 1 / 255 if scale is None else scale
        images = color_jitter(images, augment.color_jitter, generator, unit, fill)
    if augment.cutout:
        images = cutout(images, augment.cutout, generator)
    return images
