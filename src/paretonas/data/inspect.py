"""Look at a folder of images before any config exists: which source it is, its classes and
counts, image sizes and modes, and the files ``prepare-data`` would skip.

``inspect_source`` reads a folder the way the data stage does (the same class folders and
files, the same decoder, the same split minimum), so what it accepts ``prepare-data`` accepts,
and it refuses, with one line naming the folder and the reason, what no split could use.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from paretonas.data._idx import IMAGES_SUFFIX, LABELS_SUFFIX, load_idx
from paretonas.data._imagefolder import (
    _DECODE_ERRORS,
    DEFAULT_IMG_SIZE,
    _with_channels,
    decode_image,
    is_gray,
    is_not_an_image,
    list_class_files,
    open_image,
    read_image_file,
)
from paretonas.data._listing import why_missing
from paretonas.data._pixels import to_8bit
from paretonas.data._splits import MIN_PER_CLASS
from paretonas.errors import DataError

_logger = logging.getLogger(__name__)

IMAGEFOLDER = "imagefolder"
IDX = "idx"
# Big JPEGs are decoded at a reduced scale (Pillow's draft: the DCT does the scaling) when
# only their size, mode and colour are wanted; the whole file is still decoded, so a
# truncated one is still found.
_DRAFT_SIZE = (64, 64)


@dataclass(frozen=True)
class BadFile:
    """A file in a class folder that the data stage skips: ``kind`` is "not an image"
    (Pillow does not recognize it) or "unreadable" (recognized, but it does not decode)."""

    path: str  # relative to the folder: <class>/<file>
    kind: str
    reason: str


@dataclass
class SourceReport:
    """What a folder holds, as the data stage will read it."""

    path: Path
    source: str  # "imagefolder" or "idx"
    class_names: list[str]
    counts: list[int]  # readable images per class, in class order
    sizes: Counter = field(default_factory=Counter)  # (width, height) -> images
    modes: Counter = field(default_factory=Counter)  # Pillow mode -> images
    gray: bool = True  # no readable image carries colour (one band, or R == G == B)
    files: int = 0  # image files looked at (imagefolder: in class folders, non-images aside)
    bad: list[BadFile] = field(default_factory=list)
    readable: list[tuple[str, int]] = field(default_factory=list)  # (<class>/<file>, label)
    seconds: float = 0.0  # wall time of the inspection (it decodes every image once)

    @property
    def images(self) -> int:
        return sum(self.counts)

    @property
    def short_sides(self) -> list[int]:
        """The shorter side of every readable image."""
        return sorted(side for (w, h), n in self.sizes.items() for side in [min(w, h)] * n)

    @property
    def median_short_side(self) -> float:
        return float(statistics.median(self.short_sides))

    @property
    def unreadable(self) -> list[BadFile]:
        """The images that do not decode (files that are no image at all aside)."""
        return [b for b in self.bad if b.kind == "unreadable"]

    @property
    def bad_fraction(self) -> float:
        """Unreadable images over image files, as ``data.max_bad_fraction`` counts them."""
        return len(self.unreadable) / self.files if self.files else 0.0


def inspect_source(path: str | Path) -> SourceReport:
    """Inspect ``path``: an ImageFolder (``path/<class>/<image>``) or a folder of MNIST-format
    IDX files. Raises DataError naming the folder when it cannot be a classification dataset:
    missing or empty, no images, a single class, or a class below the split minimum."""
    started = time.perf_counter()
    directory = Path(path)
    if not directory.exists():
        raise DataError(f"{directory}: {why_missing(directory)}")
    if not directory.is_dir():
        raise DataError(f"{directory}: not a directory")
    entries = [p for p in directory.iterdir() if not p.name.startswith(".")]
    if not entries:
        raise DataError(f"{directory}: empty folder")
    if any(_is_idx_file(p) for p in entries):
        report = _inspect_idx(directory)
    elif any(p.is_dir() for p in entries):
        report = _inspect_imagefolder(directory)
    else:
        raise DataError(
            f"{directory}: no images: {len(entries)} file(s) and no class folder; expected "
            f"{directory}/<class>/<image> (one folder per class) or MNIST-format "
            f"*{IMAGES_SUFFIX} + *{LABELS_SUFFIX} files"
        )
    _check_classes(report)
    report.seconds = time.perf_counter() - started
    return report


def _is_idx_file(path: Path) -> bool:
    name = path.name.removesuffix(".gz")
    return path.is_file() and name.endswith((IMAGES_SUFFIX, LABELS_SUFFIX))


def _inspect_idx(directory: Path) -> SourceReport:
    try:
        raw = load_idx(directory)
    except DataError as exc:  # here the folder is no config key yet
        raise DataError(str(exc).removeprefix("data.path: ")) from None
    _, _, height, width = raw.images.shape
    counts = np.bincount(raw.labels.numpy(), minlength=len(raw.class_names))
    return SourceReport(
        path=directory,
        source=IDX,
        class_names=list(raw.class_names),
        counts=[int(c) for c in counts],
        sizes=Counter({(width, height): len(raw.labels)}),
        modes=Counter({"L": len(raw.labels)}),
        gray=True,
        files=2,
    )


def _inspect_imagefolder(directory: Path) -> SourceReport:
    try:
        files_by_class = list_class_files(directory)
    except DataError as exc:  # an empty class folder; here the folder is no config key yet
        raise DataError(str(exc).removeprefix("data.path: ")) from None
    report = SourceReport(directory, IMAGEFOLDER, class_names=list(files_by_class), counts=[])
    for label, (class_name, files) in enumerate(files_by_class.items()):
        count = 0
        for file in files:
            relative = f"{class_name}/{file.name}"
            report.files += 1
            try:
                size, mode, gray = _look_at(file)
            except DataError:  # past a ceiling: not a damaged file (and a ValueError)
                raise
            except _DECODE_ERRORS as exc:
                if is_not_an_image(file, exc):
                    report.bad.append(BadFile(relative, "not an image", "Pillow does not read it"))
                    report.files -= 1  # as prepare-data counts: not a file of the dataset
                else:
                    why = str(exc) or type(exc).__name__
                    report.bad.append(BadFile(relative, "unreadable", why))
                continue
            report.sizes[size] += 1
            report.modes[mode] += 1
            report.gray = report.gray and gray
            report.readable.append((relative, label))
            count += 1
        report.counts.append(count)
    return report


def _look_at(path: Path) -> tuple[tuple[int, int], str, bool]:
    """(width, height), Pillow mode and whether the image is gray; raises on a bad file."""
    with open_image(read_image_file(path), path) as image:
        size, mode = image.size, image.mode
        image.draft(None, _DRAFT_SIZE)
        image.load()
        return size, mode, is_gray(to_8bit(image))


def _check_classes(report: SourceReport) -> None:
    """Refuse what no stratified split can use: fewer than 2 classes, a class under the
    split minimum (``MIN_PER_CLASS``: one image each for train, val and test)."""
    where = report.path
    for name, count in zip(report.class_names, report.counts, strict=True):
        if count == 0:
            bad = [b for b in report.bad if b.path.startswith(f"{name}/")]
            example = f"; e.g. {bad[0].path}: {bad[0].reason}" if bad else ""
            raise DataError(
                f"{where / name}: class {name!r} has no readable image "
                f"({len(bad)} file(s) Pillow cannot read{example})"
            )
    if len(report.class_names) < 2:
        classes = ", ".join(repr(n) for n in report.class_names)
        raise DataError(
            f"{where}: {len(report.class_names)} class ({classes}, {report.images} images); "
            "a classifier needs at least 2 (one folder per class)"
        )
    for name, count in zip(report.class_names, report.counts, strict=True):
        if count < MIN_PER_CLASS:
            folder = where / name if report.source == IMAGEFOLDER else where
            raise DataError(
                f"{folder}: class {name!r} has {count} readable image(s); a stratified "
                f"train/val/test split needs at least {MIN_PER_CLASS} per class"
            )


def sample_images(
    report: SourceReport, count: int, img_size: int | None, channels: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``count`` images drawn at random (uint8 N x C x H x W) and their labels, decoded
    as the data stage decodes them: imagefolder at ``img_size`` and ``channels``, IDX as is."""
    rng = np.random.default_rng(seed)
    if report.source == IDX:
        raw = load_idx(report.path)
        rows = np.sort(rng.choice(len(raw.labels), size=min(count, len(raw.labels)), replace=False))
        return raw.images.numpy()[rows], raw.labels.numpy()[rows]
    chosen = rng.choice(len(report.readable), size=min(count, len(report.readable)), replace=False)
    arrays, labels = [], []
    for index in np.sort(chosen):
        relative, label = report.readable[index]
        path = report.path / relative
        array = decode_image(read_image_file(path), img_size or DEFAULT_IMG_SIZE, channels, path)
        arrays.append(_with_channels(array, channels))
        labels.append(label)
    return np.stack(arrays), np.asarray(labels, dtype=np.int64)
