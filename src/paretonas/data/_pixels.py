"""Any decoded Pillow image -> 8-bit gray or RGB pixels, the way the image looks.

Pillow's own ``convert("L")`` clips deeper images to 0..255, so a 16-bit scan (values
1000..65000) comes out all white, and it drops transparency, so a transparent pixel shows
whatever colour the file happens to keep under it. Here:

- 16-bit images (``I;16`` and its byte orders; ``I`` holding 0..65535, as 16-bit PGM, TIFF and
  PNG decode) are scaled by 255/65535, so every image of a folder keeps one scale. ``I``
  images beyond that range and ``F`` images beyond 0..1 have no declared range: they are
  stretched from their own minimum to maximum. ``F`` within 0..1 is scaled by 255.
- Transparency (an alpha band, a palette with alpha, a transparent colour key) is composited
  over white, as a page or a file browser shows the image.
- Every other mode (``1``, ``P``, ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``...) goes through
  Pillow's conversion, which is right for them.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

BACKGROUND = 255  # what transparent pixels become (white)
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")


def to_8bit(image: Image.Image) -> Image.Image:
    """``image`` (loaded) as an "L" or "RGB" image of the same size; see the module."""
    if image.mode in (*_SIXTEEN_BIT, "I", "F"):
        return Image.fromarray(_deep_to_uint8(image))
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return _over_background(image)
    if image.mode in ("L", "RGB"):
        return image
    return image.convert("L" if image.mode == "1" else "RGB")


def _deep_to_uint8(image: Image.Image) -> np.ndarray:
    """One band deeper than 8 bits -> uint8, by the scale its mode declares (see the module)."""
    values = np.asarray(image, dtype=np.float32)  # exact for 16-bit values, half of float64
    if not np.isfinite(values).all():  # float images may hold NaN or infinities
        finite = values[np.isfinite(values)]
        low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
        values = np.nan_to_num(values, nan=low, posinf=high, neginf=low)
    low, high = float(values.min()), float(values.max())
    if image.mode in _SIXTEEN_BIT or (image.mode == "I" and low >= 0 and high <= 65535):
        scaled = values * (255 / 65535)
    elif image.mode == "F" and low >= 0 and high <= 1:
        scaled = values * 255
    elif high > low:
        scaled = (values - low) * (255 / (high - low))
    else:  # one value everywhere, no range to stretch: black, or white when it is positive
        scaled = np.full_like(values, 255 if low > 0 else 0)
    return np.rint(scaled).clip(0, 255).astype(np.uint8)


def _over_background(image: Image.Image) -> Image.Image:
    """An image with transparency, composited over ``BACKGROUND``: "L" when it has no colour
    bands (gray with alpha or a gray colour key), "RGB" otherwise."""
    rgba = image.convert("RGBA")  # applies a palette's alpha or a colour key
    background = Image.new("RGBA", rgba.size, (BACKGROUND,) * 3 + (255,))
    flat = Image.alpha_composite(background, rgba).convert("RGB")
    return flat.convert("L") if image.mode in ("L", "LA", "La") else flat
