"""Fixtures for the training tests: scikit-learn's digits as uint8 splits, tiny CNNs, 1 thread."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from paretonas.models import Model, ModelSpec, build_model
from paretonas.training import Split


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One thread, as in a search worker: faster for tiny models and stable on busy hosts."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def digits() -> tuple[Split, Split, list[float], list[float]]:
    """(train, val, mean, std): 1,797 digits as uint8 N x 1 x 8 x 8 (0..16 scaled to 0..255),
    split 1,400 / 397 with a fixed permutation; mean/std of the train pixels in [0, 1]."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = np.round(data.images * (255 / 16)).astype(np.uint8)[:, None]
    x, y = torch.from_numpy(images), torch.from_numpy(data.target).long()
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, val = order[:1400], order[1400:]
    pixels = x[train].float() / 255
    return (
        Split(x[train], y[train]),
        Split(x[val], y[val]),
        [pixels.mean().item()],
        [pixels.std().item()],
    )


def tiny_spec(dropout: float = 0.0, mlp: bool = False) -> ModelSpec:
    """Conv-BN-ReLU, max-pool, (dropout), linear classifier: 8x8 gray -> 10 classes; or,
    with ``mlp``, a BatchNorm-free MLP (which a huge learning rate drives to NaN)."""
    rows = [[1, "Conv", [16, 3, 1]], [1, "MaxPool", [2]], [1, "Flatten", []]]
    if mlp:
        rows = [[1, "Flatten", []], [1, "Linear", [32, "ReLU"]]]
    if dropout:
        rows.append([1, "Dropout", [dropout]])
    rows.append([1, "Linear", [10]])
    return ModelSpec.from_dict(
        {
            "input_channel": 1,
            "depth_multiple": 1.0,
            "width_multiple": 1.0,
            "input_size": [8, 8],
            "backbone": rows,
        },
        "<tiny>",
    )


@pytest.fixture
def make_model() -> Callable[..., Model]:
    """``make_model(seed=0, dropout=0.0, mlp=False)``: a tiny model, weights drawn from ``seed``."""

    def make(seed: int = 0, dropout: float = 0.0, mlp: bool = False) -> Model:
        torch.manual_seed(seed)
        return build_model(tiny_spec(dropout, mlp))

    return make
