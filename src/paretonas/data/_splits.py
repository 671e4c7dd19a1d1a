"""Stratified train/val/test splits, the search subsample, and the normalization statistics.

Everything here works on row numbers of the source and is a pure function of the labels, the
fractions and the seed, so the same config always yields the same rows. Every class keeps at
least one image in every split, and otherwise each split holds less than one image more or
less than its exact share ``n_class * fraction``: train/val/test cut each class at the rounded
cumulative shares (test | val | train), the search subsample uses the largest-remainder method
(whose totals also match ``round(N * fraction)``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from paretonas.errors import DataError

MIN_PER_CLASS = 3  # one image for each of train, val and test
# Independent random streams, so changing the search settings never moves the full splits.
_SPLIT_STREAM = 0
_SEARCH_STREAM = 1


def check_fractions(data_config: dict[str, Any]) -> None:
    """Refuse fractions outside (0, 1) and a test + val share that leaves no training images."""
    test, val = data_config["test_fraction"], data_config["val_fraction"]
    for key, value in (("test_fraction", test), ("val_fraction", val)):
        if not 0 < value < 1:
            raise DataError(f"data.{key}: {value} must be greater than 0 and less than 1")
    search = data_config["search_fraction"]
    if not 0 < search <= 1:
        raise DataError(f"data.search_fraction: {search} must be greater than 0 and at most 1")
    if test + val >= 1:
        raise DataError(
            f"data.test_fraction + data.val_fraction = {test} + {val} = {test + val:g} "
            "leaves no training images; the sum must be less than 1"
        )


def allocate(class_counts: np.ndarray, fraction: float) -> np.ndarray:
    """Per-class shares of ``fraction`` that sum to ``round(N * fraction)`` (largest remainder)."""
    exact = class_counts.astype(np.float64) * fraction
    shares = np.floor(exact).astype(np.int64)
    total = math.floor(float(class_counts.sum()) * fraction + 0.5)
    extra = max(0, min(total - int(shares.sum()), len(shares)))
    # Largest fractional parts first; ties go to the lower class index (stable sort).
    order = np.argsort(-(exact - shares), kind="stable")
    shares[order[:extra]] += 1
    return shares


def stratified_split(
    labels: np.ndarray,
    class_names: list[str],
    test_fraction: float,
    val_fraction: float,
    seed: int,
) -> dict[str, np.ndarray]:
    """Sorted row numbers of ``full/train``, ``full/val`` and ``full/test``, stratified by class."""
    counts = np.bincount(labels, minlength=len(class_names))
    for index, count in enumerate(counts):
        if count < MIN_PER_CLASS:
            raise DataError(
                f"data: class {class_names[index]!r} has {count} image(s); a stratified "
                f"train/val/test split needs at least {MIN_PER_CLASS} per class (one per split)"
            )
    rng = np.random.default_rng([seed, _SPLIT_STREAM])
    parts: dict[str, list[np.ndarray]] = {"full/train": [], "full/val": [], "full/test": []}
    for index, count in enumerate(counts):
        test_end, val_end = split_boundaries(int(count), test_fraction, val_fraction)
        rows = rng.permutation(np.flatnonzero(labels == index))
        parts["full/test"].append(rows[:test_end])
        parts["full/val"].append(rows[test_end:val_end])
        parts["full/train"].append(rows[val_end:])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def split_boundaries(count: int, test_fraction: float, val_fraction: float) -> tuple[int, int]:
    """Where one class of ``count`` images is cut: rows [0, a) test, [a, b) val, [b, count) train.

    Rounding the cumulative shares keeps test and train within half an image and val within
    one image of their exact shares; the clips give each split at least one image.
    """
    test_end = math.floor(count * test_fraction + 0.5)
    val_end = math.floor(count * (test_fraction + val_fraction) + 0.5)
    test_end = min(max(test_end, 1), count - 2)
    val_end = min(max(val_end, test_end + 1), count - 1)
    return test_end, val_end


def search_subsample(
    labels: np.ndarray,
    rows: np.ndarray,
    class_names: list[str],
    fraction: float,
    max_per_class: int | None,
    seed: int,
    split: str,
    min_per_class: int | None = None,
) -> np.ndarray:
    """Sorted stratified subset of ``rows``: ``fraction`` of each class, raised to
    ``min_per_class`` (or all the class has), then the optional cap.

    Each class keeps at least one image; ``split`` ("train" or "val") only names the split in
    errors and picks an independent random stream.
    """
    counts = np.bincount(labels[rows], minlength=len(class_names))
    take = np.minimum(np.maximum(allocate(counts, fraction), 1), counts)
    if min_per_class is not None:
        take = np.maximum(take, np.minimum(counts, min_per_class))
    if max_per_class is not None:
        take = np.minimum(take, max_per_class)
    for index, count in enumerate(take):
        if count < 1:
            raise DataError(
                f"data.search_fraction: class {class_names[index]!r} would have no image in "
                f"search/{split} ({counts[index]} in full/{split})"
            )
    stream = {"train": 0, "val": 1}.get(split, 2)
    rng = np.random.default_rng([seed, _SEARCH_STREAM, stream])
    chosen = [
        rng.choice(rows[labels[rows] == index], size=int(take[index]), replace=False)
        for index in range(len(counts))
    ]
    return np.sort(np.concatenate(chosen))


def channel_stats(images: torch.Tensor, chunk: int = 4096) -> tuple[list[float], list[float]]:
    """Per-channel mean and (population) std of uint8 N x C x H x W images, in pixel/255 units.

    Sums are exact Python integers, so the result does not depend on chunking or thread count.
    """
    num_images, channels = images.shape[:2]
    values = num_images * images.shape[2] * images.shape[3]
    means, stds = [], []
    for channel in range(channels):
        total = squares = 0
        for start in range(0, num_images, chunk):
            block = images[start : start + chunk, channel].to(torch.int64)
            total += int(block.sum())
            squares += int((block * block).sum())
        variance = (values * squares - total * total) / (values * values * 255 * 255)
        means.append(total / (values * 255))
        stds.append(math.sqrt(max(variance, 0.0)))
    return means, stds


def per_class_counts(labels: np.ndarray, class_names: list[str]) -> dict[str, int]:
    """Class name -> number of images, in class order."""
    counts = np.bincount(labels, minlength=len(class_names))
    return {name: int(count) for name, count in zip(class_names, counts, strict=True)}
