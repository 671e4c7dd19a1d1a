"""The imagefolder source: generated color, gray and odd-sized image folders."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from paretonas.data import load_manifest, load_split, load_split_file, prepare_data
from paretonas.errors import DataError
from tests.data.conftest import COLORS, assert_no_output, config, write_imagefolder


def test_rgb_folder_auto_channels_sorted_classes(tmp_path):
    source = write_imagefolder(tmp_path / "shapes")
    manifest = prepare_data(config(source="imagefolder", path=str(source)), tmp_path / "out")
    assert manifest["class_names"] == sorted(COLORS)
    assert manifest["input_shape"] == [3, 32, 32]
    assert manifest["source"]["info"]["channels_chosen_by"] == "content"
    assert manifest["counts"]["all"]["total"] == 72
    assert len(manifest["raw_md5"]) == 72 and "red/img000.png" in manifest["raw_md5"]
    for split in ("full/train", "full/val", "full/test", "search/train", "search/val"):
        assert set(manifest["counts"][split]["per_class"].values()) != {0}
        assert min(manifest["counts"][split]["per_class"].values()) >= 1
    images, labels = load_split(tmp_path / "out", "full/train")
    assert images.shape[1:] == (3, 32, 32)
    # The center of a red shape is red: labels index the sorted class names.
    red = manifest["class_names"].index("red")
    center = images[labels == red][:, :, 16, 16].float().mean(0)
    assert center[0] > 150 and center[1] < 80 and center[2] < 80


def test_rows_follow_the_file_list(tmp_path):
    source = write_imagefolder(tmp_path / "shapes", per_class=4)
    out_dir = tmp_path / "out"
    manifest = prepare_data(config(source="imagefolder", path=str(source)), out_dir)
    files = manifest["source"]["info"]["files"]
    data = load_split_file(out_dir, "full/train")
    pngs = [i for i, row in enumerate(data["indices"].tolist()) if files[row].endswith(".png")]
    assert pngs
    for i in pngs:  # PNGs are lossless and already 32x32: the stored pixels are the file's
        row = int(data["indices"][i])
        with Image.open(source / files[row]) as image:
            expected = np.asarray(image.convert("RGB")).transpose(2, 0, 1)
        assert np.array_equal(data["images"][i].numpy(), expected)
        assert manifest["class_names"][int(data["labels"][i])] == files[row].split("/")[0]


def test_gray_folder_becomes_one_channel(tmp_path):
    source = write_imagefolder(tmp_path / "gray", gray=True)
    manifest = prepare_data(config(source="imagefolder", path=str(source)), tmp_path / "out")
    assert manifest["input_shape"] == [1, 32, 32]
    assert manifest["source"]["info"]["channels"] == 1


def test_one_color_image_makes_the_folder_rgb(tmp_path):
    source = write_imagefolder(tmp_path / "gray", gray=True, per_class=5)
    Image.new("RGB", (32, 32), (200, 10, 10)).save(source / "red" / "zz_color.png")
    manifest = prepare_data(config(source="imagefolder", path=str(source)), tmp_path / "out")
    assert manifest["input_shape"] == [3, 32, 32]


def test_explicit_channels_override_content(tmp_path):
    source = write_imagefolder(tmp_path / "shapes", per_class=5)
    data = config(source="imagefolder", path=str(source), channels=1)
    manifest = prepare_data(data, tmp_path / "out")
    assert manifest["input_shape"] == [1, 32, 32]
    assert manifest["source"]["info"]["channels_chosen_by"] == "config"


@pytest.mark.parametrize("img_size, expected", [(16, 16), (None, 32), (40, 40)])
def test_other_sizes_are_resized(tmp_path, img_size, expected):
    source = write_imagefolder(tmp_path / "odd", per_class=6, sizes=((20, 30), (50, 40), (8, 8)))
    data = config(source="imagefolder", path=str(source), img_size=img_size)
    manifest = prepare_data(data, tmp_path / "out")
    assert manifest["input_shape"] == [3, expected, expected]
    assert manifest["source"]["info"]["img_size"] == expected
    images, _ = load_split(tmp_path / "out", "full/val")
    assert images.shape[2:] == (expected, expected)


def test_unreadable_files_are_skipped_and_counted(tmp_path, caplog):
    source = write_imagefolder(tmp_path / "shapes")
    (source / "blue" / "notes.txt").write_text("not an image")
    (source / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    (source / "red" / ".DS_Store").write_bytes(b"\x00\x01")  # hidden: ignored, not counted
    data = config(source="imagefolder", path=str(source), max_bad_fraction=0.05)
    manifest = prepare_data(data, tmp_path / "out")
    assert manifest["bad_file_count"] == 1  # the damaged image; notes.txt is no image at all
    assert [bad["path"] for bad in manifest["bad_files"]] == ["red/broken.png"]
    assert manifest["counts"]["all"]["total"] == 72
    assert "blue/notes.txt" not in manifest["raw_md5"] and "red/broken.png" in manifest["raw_md5"]
    assert "skipping unreadable file red/broken.png" in caplog.text
    assert "skipped 1 file(s) that are not images (not counted as unreadable): blue/notes.txt" in (
        caplog.text
    )
    info = load_manifest(tmp_path / "out")["source"]["info"]
    assert info["num_files"] == 73 and info["not_images"] == ["blue/notes.txt"]


def test_files_that_are_not_images_do_not_count_as_unreadable(tmp_path, caplog):
    """Issue [5/5] case 16: a README.txt in every class folder (6 of 78 files, more than the
    default max_bad_fraction of 1%) is skipped with one warning, and the run goes on."""
    source = write_imagefolder(tmp_path / "shapes")
    for folder in sorted(source.iterdir()):
        (folder / "README.txt").write_text("photos taken in 2024\n")
    (source / "blue" / "labels").write_bytes(b"a,b\n")  # no extension, no image: skipped too
    manifest = prepare_data(config(source="imagefolder", path=str(source)), tmp_path / "out")
    assert manifest["bad_file_count"] == 0 and manifest["counts"]["all"]["total"] == 72
    warnings = [r.getMessage() for r in caplog.records if "not images" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith(
        "imagefolder: skipped 7 file(s) that are not images"
    )
    assert "blue/README.txt, blue/labels, cyan/README.txt" in warnings[0]


def test_too_many_unreadable_files_fail(tmp_path):
    source = write_imagefolder(tmp_path / "shapes")
    (source / "blue" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    out_dir = tmp_path / "out"
    with pytest.raises(
        DataError,
        match=r"data.max_bad_fraction: 1 of 73 files .* unreadable "
        r"\(1\.4%\), more than 0\.01 allows; first: blue/broken\.png",
    ):
        prepare_data(config(source="imagefolder", path=str(source)), out_dir)
    assert_no_output(out_dir)


def test_one_class_is_refused(tmp_path):
    source = write_imagefolder(tmp_path / "shapes")
    for folder in source.iterdir():
        if folder.name != "red":
            for image in folder.iterdir():
                image.unlink()
            folder.rmdir()
    with pytest.raises(DataError, match=r"1 class\(es\) \['red'\]; a classifier needs at least 2"):
        prepare_data(config(source="imagefolder", path=str(source)), tmp_path / "out")
    assert_no_output(tmp_path / "out")
