"""The split arithmetic on hand-written cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paretonas.data import allocate, channel_stats, search_subsample
from paretonas.data._splits import split_boundaries
from paretonas.errors import DataError


@pytest.mark.parametrize(
    "counts, fraction, expected",
    [
        ([10, 10, 10], 0.2, [2, 2, 2]),
        ([5, 5, 5, 5], 0.1, [1, 1, 0, 0]),  # total round(2.0) = 2: ties go to low classes
        ([7, 3], 0.5, [4, 1]),  # 3.5 and 1.5 -> total 5; largest remainder, stable order
        ([100], 1.0, [100]),
    ],
)
def test_allocate_largest_remainder(counts, fraction, expected):
    assert allocate(np.array(counts), fraction).tolist() == expected


@pytest.mark.parametrize(
    "count, test, val, expected",
    [
        (10, 0.2, 0.1, (2, 3)),
        (3, 0.2, 0.1, (1, 2)),  # one image each, even though 0.3 x 3 < 1
        (3, 0.6, 0.35, (1, 2)),  # train keeps one image
        (178, 0.2, 0.1, (36, 53)),
    ],
)
def test_split_boundaries(count, test, val, expected):
    assert split_boundaries(count, test, val) == expected


def test_search_keeps_one_image_per_class_and_caps():
    labels = np.array([0] * 10 + [1] * 2)
    rows = np.arange(12)
    chosen = search_subsample(labels, rows, ["a", "b"], 0.1, None, seed=0, split="train")
    assert np.bincount(labels[chosen]).tolist() == [1, 1]
    capped = search_subsample(labels, rows, ["a", "b"], 1.0, 3, seed=0, split="train")
    assert np.bincount(labels[capped]).tolist() == [3, 2]


def test_search_names_a_class_missing_from_the_split():
    labels = np.array([0, 0, 1, 1])
    with pytest.raises(DataError, match=r"class 'b' would have no image in search/val"):
        search_subsample(labels, np.array([0, 1]), ["a", "b"], 0.5, None, seed=0, split="val")


def test_channel_stats_exact_and_chunk_independent():
    images = torch.tensor([[[[0, 255]], [[51, 51]]]], dtype=torch.uint8).repeat(5, 1, 1, 1)
    mean, std = channel_stats(images, chunk=2)
    assert mean == [0.5, 0.2] and std == [0.5, 0.0]
    assert channel_stats(images, chunk=1) == channel_stats(images, chunk=100)
