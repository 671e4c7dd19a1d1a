"""Each bad input raises the project's exception naming the key or file, and writes nothing."""

from __future__ import annotations

import re

import pytest

from paretonas.config import validate_config
from paretonas.data import prepare_data
from paretonas.errors import ConfigError, DataError
from tests.data.conftest import assert_no_output, config, write_imagefolder


def test_missing_directory(tmp_path):
    missing = tmp_path / "nowhere"
    out_dir = tmp_path / "out"
    expected = f"^data.path: {re.escape(str(missing))}: no such directory$"
    with pytest.raises(DataError, match=expected):
        prepare_data(config(source="imagefolder", path=str(missing)), out_dir)
    assert_no_output(out_dir)


def test_path_required_for_idx(tmp_path):
    with pytest.raises(DataError, match=r"data\.path: required for data\.source 'idx'"):
        prepare_data(config(source="idx"), tmp_path / "out")
    assert_no_output(tmp_path / "out")


def test_empty_class_folder(tmp_path):
    source = write_imagefolder(tmp_path / "shapes", per_class=4)
    (source / "empty").mkdir()
    out_dir = tmp_path / "out"
    with pytest.raises(DataError, match=r"data.path: .*/shapes/empty: empty class folder 'empty'"):
        prepare_data(config(source="imagefolder", path=str(source)), out_dir)
    assert_no_output(out_dir)


def test_no_class_folders(tmp_path):
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"flat: no class folders"):
        prepare_data(config(source="imagefolder", path=str(tmp_path / "flat")), tmp_path / "out")
    assert_no_output(tmp_path / "out")


def test_class_too_small_for_a_stratified_split(tmp_path):
    source = write_imagefolder(tmp_path / "shapes", per_class=6)
    for path in sorted((source / "green").iterdir())[2:]:
        path.unlink()
    out_dir = tmp_path / "out"
    with pytest.raises(DataError, match=r"class 'green' has 2 image\(s\); .* at least 3 per class"):
        prepare_data(config(source="imagefolder", path=str(source)), out_dir)
    assert_no_output(out_dir)


def test_failure_leaves_a_previous_output_intact(tmp_path):
    out_dir = tmp_path / "out"
    prepare_data(config(source="digits"), out_dir)
    before = {p: p.read_bytes() for p in sorted(out_dir.rglob("*")) if p.is_file()}
    with pytest.raises(DataError):
        prepare_data(config(source="idx", path=str(tmp_path / "nowhere")), out_dir)
    assert {p: p.read_bytes() for p in sorted(out_dir.rglob("*")) if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_unknown_source_through_validate_config(tmp_path):
    with pytest.raises(ConfigError, match=r"data.source: 'mnist' is not one of"):
        validate_config({"data": {"source": "mnist"}}, "config.yaml")
    with pytest.raises(ConfigError, match=r"data.source"):
        prepare_data(config(source="mnist"), tmp_path / "out")
    assert_no_output(tmp_path / "out")


@pytest.mark.parametrize(
    "key, value",
    [
        ("test_fraction", 0),
        ("test_fraction", 1),
        ("val_fraction", -0.1),
        ("val_fraction", 1.5),
        ("search_fraction", 0),
    ],
)
def test_fraction_outside_zero_one(tmp_path, key, value):
    with pytest.raises(ConfigError, match=f"data.{key}: {value}"):
        prepare_data(config(source="digits", **{key: value}), tmp_path / "out")
    assert_no_output(tmp_path / "out")


@pytest.mark.parametrize("test, val", [(0.5, 0.5), (0.7, 0.4)])
def test_test_plus_val_must_leave_training_images(tmp_path, test, val):
    data = config(source="digits", test_fraction=test, val_fraction=val)
    with pytest.raises(DataError, match=r"data.test_fraction \+ data.val_fraction = .* less than"):
        prepare_data(data, tmp_path / "out")
    assert_no_output(tmp_path / "out")
