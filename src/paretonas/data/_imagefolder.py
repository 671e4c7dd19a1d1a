"""``data.path/<class>/<image>``: any format Pillow reads, gray or color, resized to one size.

Class names are the folder names, sorted; rows follow that order, then the sorted file names.
A file that is no image (Pillow does not recognize it and its name has no image extension:
``README.txt``, ``labels.csv``) is skipped with one warning listing them and counts for nothing.
An image that does not decode (a ``.png`` Pillow cannot read, a truncated JPEG) is skipped with a
warning and listed as unreadable; the run fails only when more than ``data.max_bad_fraction`` of
the image files are unreadable. Hidden files (``.DS_Store``) are ignored.
Images are stretched to ``img_size`` x ``img_size`` with bilinear resampling (no aspect-ratio
crop: small classifiers want every pixel of the object), after ``_pixels.to_8bit`` (16-bit
scaled, transparency over white). A file past ``$PARETONAS_MAX_IMAGE_MIB`` or an image past
``$PARETONAS_MAX_IMAGE_PIXELS`` stops the run with one line (``_limits``): it is an image too
big to read, not a damaged one, so raising the ceiling or removing the file is the user's call.
Entries of a class folder that are no file (subfolders, symlink loops, broken symlinks, pipes)
are ignored with one warning a kind, naming them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from paretonas.data._limits import (
    IMAGE_MIB_VARIABLE,
    IMAGE_PIXELS_VARIABLE,
    image_bytes_ceiling,
    image_pixels_ceiling,
    too_big,
)
from paretonas.data._listing import class_folders, entries_by_kind, warn_ignored
from paretonas.data._pixels import to_8bit
from paretonas.data._sources import RawDataset, md5_bytes
from paretonas.errors import DataError

_logger = logging.getLogger(__name__)

DEFAULT_IMG_SIZE = 32
_WARN_FIRST = 10  # unreadable files logged one by one; the rest only counted
# What can go wrong while decoding a damaged or foreign file, across Pillow's plugins.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError)


def load_imagefolder(
    directory: Path,
    img_size: int | None = None,
    channels: int | None = None,
    max_bad_fraction: float = 0.01,
) -> RawDataset:
    """Read every image under ``directory/<class>/``; ``channels`` None picks 1 or 3 by content."""
    size = img_size or DEFAULT_IMG_SIZE
    files_by_class = list_class_files(directory)
    arrays: list[np.ndarray] = []
    labels: list[int] = []
    rows: list[str] = []
    raw_md5: dict[str, str] = {}
    bad: list[dict[str, str]] = []
    not_images: list[str] = []
    readable = dict.fromkeys(files_by_class, 0)
    for label, (class_name, files) in enumerate(files_by_class.items()):
        for path in files:
            relative = f"{class_name}/{path.name}"
            try:
                data = read_image_file(path)
            except OSError as exc:
                if is_not_an_image(path, exc):  # past the byte ceiling, and no image at all
                    not_images.append(relative)
                else:
                    _skip(bad, relative, f"cannot read: {exc.strerror or exc}")
                continue
            try:
                arrays.append(decode_image(data, size, channels, path))
            except DataError:  # past a ceiling: not a damaged file (and a ValueError)
                raise
            except _DECODE_ERRORS as exc:
                if is_not_an_image(path, exc):
                    not_images.append(relative)  # no file of the dataset: no md5 either
                    continue
                _skip(bad, relative, str(exc) or type(exc).__name__)
            else:
                labels.append(label)
                rows.append(relative)
                readable[class_name] += 1
            raw_md5[relative] = md5_bytes(data)  # an unreadable image's bytes are recorded too
    if not_images:
        _logger.warning(
            "imagefolder: skipped %d file(s) that are not images (not counted as unreadable): %s",
            len(not_images),
            listed(not_images),
        )
    total = sum(len(files) for files in files_by_class.values()) - len(not_images)
    if len(bad) > max_bad_fraction * total:
        first = bad[0]
        raise DataError(
            f"data.max_bad_fraction: {len(bad)} of {total} files in {directory} are unreadable "
            f"({len(bad) / total:.1%}), more than {max_bad_fraction} allows; "
            f"first: {first['path']} ({first['error']})"
        )
    for class_name, count in readable.items():
        if count == 0:
            raise DataError(
                f"data.path: {directory / class_name}: class {class_name!r} has no readable images"
            )
    chosen = channels or (3 if any(a.ndim == 3 for a in arrays) else 1)
    images = np.stack([_with_channels(a, chosen) for a in arrays])
    if bad:
        _logger.warning("imagefolder: skipped %d unreadable file(s) of %d", len(bad), total)
    return RawDataset.from_numpy(
        images,
        np.asarray(labels),
        list(files_by_class),
        raw_md5,
        info={
            "img_size": size,
            "channels": chosen,
            "channels_chosen_by": "config" if channels else "content",
            "num_files": total,
            "files": rows,  # row i of the source is files[i]
            "not_images": not_images,  # skipped, counted nowhere
        },
        bad_files=bad,
    )


def list_class_files(directory: Path) -> dict[str, list[Path]]:
    """Sorted class folder -> sorted image files; errors name the directory or the class."""
    class_dirs = class_folders(directory)
    if not class_dirs:
        raise DataError(
            f"data.path: {directory}: no class folders (expected data.path/<class>/<image>)"
        )
    files_by_class: dict[str, list[Path]] = {}
    for class_dir in class_dirs:
        kinds = entries_by_kind(class_dir)
        files = kinds.pop("file", [])
        warn_ignored(class_dir, kinds)
        if not files:
            raise DataError(f"data.path: {class_dir}: empty class folder {class_dir.name!r}")
        files_by_class[class_dir.name] = files
    return files_by_class


def read_image_file(path: Path) -> bytes:
    """The bytes of ``path``, refused past ``$PARETONAS_MAX_IMAGE_MIB`` before any is read. A
    file that big which Pillow does not recognize, with no image extension, raises Pillow's
    UnidentifiedImageError instead (a video left in a class folder is skipped, not refused)."""
    limit = image_bytes_ceiling()
    size = path.stat().st_size
    if size <= limit:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)  # a file that grew since: still bounded
        if len(data) <= limit:
            return data
        size = len(data)
    try:
        with warnings.catch_warnings():  # only the format is wanted here
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path):
                recognized = True
    except Image.DecompressionBombError:
        recognized = True
    except Image.UnidentifiedImageError:
        recognized = False
    if recognized or path.suffix.lower() in _image_extensions():
        raise too_big(path, "an image file of", size, limit, IMAGE_MIB_VARIABLE)
    raise Image.UnidentifiedImageError(f"cannot identify image file {str(path)!r}")


@contextlib.contextmanager
def open_image(data: bytes, where: Path | str) -> Iterator[Image.Image]:
    """``Image.open`` of ``data`` under ``$PARETONAS_MAX_IMAGE_PIXELS``: past it (the image's
    size, a GIF frame's, a TIFF tile's), Pillow's decompression-bomb warning or error becomes
    one DataError naming ``where``, before the pixels are decoded."""
    limit = image_pixels_ceiling()
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = limit  # Pillow warns past it and refuses past twice it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                yield image
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f"{int(found[1]):,} pixels" if found else "more pixels"
        raise DataError(
            f"{where}: an image of {pixels}, past the ceiling of {limit:,} "
            f"(${IMAGE_PIXELS_VARIABLE}); nothing was decoded: raise it to read this image"
        ) from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def is_not_an_image(path: Path, exc: BaseException) -> bool:
    """True for a file that is no image at all, not a damaged one: Pillow does not recognize
    its content and its name has no extension Pillow registers for an image."""
    if not isinstance(exc, Image.UnidentifiedImageError):
        return False
    return path.suffix.lower() not in _image_extensions()


def _image_extensions() -> dict[str, str]:
    Image.init()  # registers every plugin's extensions
    return Image.registered_extensions()


def listed(paths: list[str], first: int = _WARN_FIRST) -> str:
    """``a, b, c`` or ``a, b, c and 7 more``: a list for one log line."""
    more = f" and {len(paths) - first} more" if len(paths) > first else ""
    return ", ".join(paths[:first]) + more


def decode_image(
    data: bytes, size: int, channels: int | None, where: Path | str = "image"
) -> np.ndarray:
    """Decode, convert and resize one image: H x W for gray, H x W x 3 for color.

    With ``channels`` None, an image is gray when it has one band or its R, G and B are equal
    everywhere; converting such an image to "L" loses nothing (Pillow's L of R=G=B is R).
    ``where`` names the file in a refusal (see ``open_image``).
    """
    with open_image(data, where) as image:
        image.load()
        flat = to_8bit(image)  # L or RGB; an animation's first frame
    if channels == 1:
        mode = "L"
    elif channels == 3:
        mode = "RGB"
    else:
        mode = "L" if is_gray(flat) else "RGB"
    resized = flat.convert(mode).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


def is_gray(image: Image.Image) -> bool:
    """True when ``image`` (L or RGB, as ``to_8bit`` returns it) carries no color."""
    if image.mode == "L":
        return True
    rgb = np.asarray(image)
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def _with_channels(array: np.ndarray, channels: int) -> np.ndarray:
    """H x W or H x W x 3 -> C x H x W (gray repeated to 3 channels where color is chosen)."""
    if array.ndim == 2:
        return np.repeat(array[None], channels, axis=0)
    return array.transpose(2, 0, 1)


def _skip(bad: list[dict[str, str]], relative: str, reason: str) -> None:
    """Record one unreadable file: the first few as warnings, the rest at debug level."""
    level = logging.WARNING if len(bad) < _WARN_FIRST else logging.DEBUG
    _logger.log(level, "imagefolder: skipping unreadable file %s: %s", relative, reason)
    bad.append({"path": relative, "error": reason})
