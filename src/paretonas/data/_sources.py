"""Raw image sources: what every reader returns, and the dispatch on ``data.source``.

A reader turns one source into a :class:`RawDataset` held in memory: uint8 images
N x C x H x W in the source's own order, int64 labels, the class names and the md5 of every
raw file it read (so the manifest can prove which bytes the splits came from).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from paretonas.data._listing import why_missing
from paretonas.errors import DataError


@dataclass
class RawDataset:
    """A whole source in memory, in source order (row i is ``indices == i`` in every split)."""

    images: torch.Tensor  # uint8, N x C x H x W
    labels: torch.Tensor  # int64, N, values 0..num_classes-1
    class_names: list[str]
    raw_md5: dict[str, str]  # path relative to the source -> md5 of the bytes read
    info: dict[str, Any] = field(default_factory=dict)  # source-specific provenance
    bad_files: list[dict[str, str]] = field(default_factory=list)  # skipped, with the reason

    @property
    def input_shape(self) -> list[int]:
        """[C, H, W] of every image."""
        return list(self.images.shape[1:])

    @classmethod
    def from_numpy(
        cls,
        images: np.ndarray,
        labels: np.ndarray,
        class_names: list[str],
        raw_md5: dict[str, str],
        **extra: Any,
    ) -> RawDataset:
        """Wrap uint8 N x C x H x W and integer label arrays as contiguous, writable tensors."""
        # "W": arrays over read-only buffers (np.frombuffer) are copied once, here.
        return cls(
            images=torch.from_numpy(np.require(images, np.uint8, ["C", "W"])),
            labels=torch.from_numpy(np.require(labels, np.int64, ["C", "W"])),
            class_names=class_names,
            raw_md5=raw_md5,
            **extra,
        )


def md5_bytes(data: bytes) -> str:
    """Hex md5 of ``data`` (provenance, not security)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: Path) -> str:
    """Hex md5 of the bytes of ``path`` on disk, read in chunks (a file larger than memory too)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_directory(data_config: dict[str, Any]) -> Path:
    """``data.path`` as an existing directory, or a DataError naming the key and the path."""
    raw = data_config.get("path")
    if raw is None:
        raise DataError(f"data.path: required for data.source {data_config['source']!r}")
    path = Path(raw)
    if not path.exists():
        raise DataError(f"data.path: {path}: {why_missing(path)}")
    if not path.is_dir():
        raise DataError(f"data.path: {path}: not a directory")
    return path


def load_source(data_config: dict[str, Any]) -> RawDataset:
    """Read the source named by ``data.source`` into memory."""
    name = data_config["source"]
    if name == "digits":
        return load_digits()
    if name == "idx":
        from paretonas.data._idx import load_idx

        return load_idx(source_directory(data_config), data_config.get("label_values"))
    if name == "imagefolder":
        from paretonas.data._imagefolder import load_imagefolder

        return load_imagefolder(
            source_directory(data_config),
            img_size=data_config.get("img_size"),
            channels=data_config.get("channels"),
            max_bad_fraction=data_config.get("max_bad_fraction", 0.01),
        )
    # validate_config refuses other names; this guards direct calls with a hand-made dict.
    raise DataError(f"data.source: unknown source {name!r}; known: digits, idx, imagefolder")


def load_digits() -> RawDataset:
    """scikit-learn's bundled 8x8 digits (1,797 images): pixels 0..16 scaled to 0..255."""
    try:
        import sklearn
        from sklearn import datasets
    except ImportError:
        raise DataError(
            "data.source: 'digits' needs scikit-learn (pip install scikit-learn)"
        ) from None
    bunch = datasets.load_digits()
    pixels = np.rint(np.asarray(bunch.images, dtype=np.float64) * 255.0 / 16.0)
    images = pixels.clip(0, 255).astype(np.uint8)[:, None, :, :]
    # Hash the exact file sklearn parsed, so a changed sklearn data file shows in the manifest.
    data_file = Path(datasets.__file__).parent / "data" / "digits.csv.gz"
    raw_md5 = {"sklearn/datasets/data/digits.csv.gz": md5_bytes(data_file.read_bytes())}
    return RawDataset.from_numpy(
        images,
        np.asarray(bunch.target),
        [str(i) for i in range(10)],
        raw_md5,
        info={"loader": "sklearn.datasets.load_digits", "sklearn_version": sklearn.__version__},
    )


def class_names_from_labels(labels: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Map raw integer labels to 0..K-1 in sorted order; names are the raw values as strings."""
    values = np.unique(labels)
    return np.searchsorted(values, labels).astype(np.int64), [str(int(v)) for v in values]
