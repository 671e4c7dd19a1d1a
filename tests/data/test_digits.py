"""prepare_data on scikit-learn's digits: counts, stratification, disjointness, determinism."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from paretonas.data import SPLITS, load_manifest, load_split, load_split_file, prepare_data
from paretonas.errors import DataError
from tests.data.conftest import config

FRACTIONS = {"full/test": 0.2, "full/val": 0.1, "full/train": 0.7}  # the schema defaults


def indices(out_dir, split) -> np.ndarray:
    return load_split_file(out_dir, split)["indices"].numpy()


def test_counts_shapes_and_files(digits_dir):
    manifest = load_manifest(digits_dir)
    assert manifest["counts"]["all"]["total"] == 1797
    full = ("full/train", "full/val", "full/test")
    assert sum(manifest["counts"][split]["total"] for split in full) == 1797
    assert manifest["input_shape"] == [1, 8, 8]
    assert manifest["class_names"] == [str(i) for i in range(10)]
    assert manifest["num_classes"] == 10
    assert list(manifest["raw_md5"]) == ["sklearn/datasets/data/digits.csv.gz"]
    assert manifest["source"]["info"]["sklearn_version"]
    for split in SPLITS:
        images, labels = load_split(digits_dir, split)
        assert images.dtype == torch.uint8 and labels.dtype == torch.int64
        assert images.shape[1:] == (1, 8, 8)
        assert len(images) == len(labels) == manifest["counts"][split]["total"]
        expected = hashlib.md5((digits_dir / f"{split}.pt").read_bytes()).hexdigest()
        assert manifest["outputs"][f"{split}.pt"] == expected


def test_pixels_and_labels_follow_the_source(digits_dir):
    source = load_digits()
    data = load_split_file(digits_dir, "full/val")
    rows = data["indices"].numpy()
    expected = np.rint(source.images[rows] * 255 / 16).astype(np.uint8)
    assert np.array_equal(data["images"][:, 0].numpy(), expected)
    assert np.array_equal(data["labels"].numpy(), source.target[rows])
    assert int(data["images"].max()) == 255


@pytest.mark.parametrize("split", ["full/train", "full/val", "full/test"])
def test_stratified_within_one_image(digits_dir, split):
    manifest = load_manifest(digits_dir)
    for name, total in manifest["counts"]["all"]["per_class"].items():
        count = manifest["counts"][split]["per_class"][name]
        assert abs(count - total * FRACTIONS[split]) <= 1, (split, name, count, total)


def test_splits_are_disjoint_and_cover_the_source(digits_dir):
    train, val, test = (indices(digits_dir, s) for s in ("full/train", "full/val", "full/test"))
    assert not set(train) & set(val) and not set(train) & set(test) and not set(val) & set(test)
    assert sorted(np.concatenate([train, val, test])) == list(range(1797))


def test_search_is_a_stratified_subset(digits_dir):
    manifest = load_manifest(digits_dir)
    counts = manifest["counts"]
    for split in ("train", "val"):
        search, full = indices(digits_dir, f"search/{split}"), indices(digits_dir, f"full/{split}")
        assert set(search) <= set(full)
    for name, count in counts["full/train"]["per_class"].items():  # search_fraction 0.5
        assert abs(counts["search/train"]["per_class"][name] - count / 2) <= 1
    # val keeps search_val_min_per_class (50) a class, or all of full/val's (17-18 here)
    assert counts["search/val"]["per_class"] == counts["full/val"]["per_class"]


def test_search_val_min_per_class_and_search_fraction(tmp_path):
    manifest = prepare_data(
        config(source="digits", val_fraction=0.5, search_fraction=0.2, search_val_min_per_class=30),
        tmp_path / "a",
    )
    assert set(manifest["counts"]["search/val"]["per_class"].values()) == {30}  # not 0.2 x 90
    off = prepare_data(
        config(source="digits", val_fraction=0.5, search_val_min_per_class=None), tmp_path / "b"
    )
    full = off["counts"]["full/val"]["per_class"]
    assert all(
        abs(off["counts"]["search/val"]["per_class"][c] - n / 2) <= 1 for c, n in full.items()
    )


def test_search_max_per_class_caps_every_class(tmp_path):
    manifest = prepare_data(config(source="digits", search_max_per_class=5), tmp_path / "data")
    assert set(manifest["counts"]["search/train"]["per_class"].values()) == {5}
    assert set(manifest["counts"]["search/val"]["per_class"].values()) == {5}
    assert manifest["counts"]["full/train"]["total"] == 1258  # the cap leaves full alone


def test_same_seed_same_bytes_other_seed_other_split(tmp_path, digits_dir):
    again = tmp_path / "again"
    prepare_data(config(source="digits"), again)
    for split in SPLITS:
        assert (again / f"{split}.pt").read_bytes() == (digits_dir / f"{split}.pt").read_bytes()
    other = tmp_path / "other"
    prepare_data(config(seed=1, source="digits"), other)
    assert not np.array_equal(indices(other, "full/test"), indices(digits_dir, "full/test"))
    assert load_manifest(other)["seed"] == 1


def test_normalization_is_computed_on_train_only(digits_dir):
    manifest = load_manifest(digits_dir)
    train, _ = load_split(digits_dir, "full/train")
    pixels = train.double() / 255
    assert manifest["normalization"]["mean"] == pytest.approx([pixels.mean().item()], abs=1e-12)
    assert manifest["normalization"]["std"] == pytest.approx(
        [pixels.std(unbiased=False).item()], abs=1e-12
    )
    everything = torch.from_numpy(np.rint(load_digits().images * 255 / 16)) / 255
    assert abs(everything.mean().item() - manifest["normalization"]["mean"][0]) > 1e-5


def test_manifest_records_config_and_augment(tmp_path):
    augment = {"random_crop_padding": 2, "horizontal_flip": True}
    manifest = prepare_data(config(seed=3, source="digits", augment=augment), tmp_path / "d")
    assert manifest["augment"] == {**augment, "color_jitter": 0.0, "cutout": 0}  # defaults filled
    assert manifest["data_config"]["test_fraction"] == 0.2 and manifest["seed"] == 3
    assert manifest["bad_file_count"] == 0 and manifest["wall_time_s"] > 0
    assert load_manifest(tmp_path / "d") == manifest


def test_rerun_replaces_the_previous_directory(tmp_path):
    out_dir = tmp_path / "data"
    (out_dir / "full").mkdir(parents=True)
    (out_dir / "full" / "stale.pt").write_bytes(b"old")
    prepare_data(config(source="digits"), out_dir)
    assert not (out_dir / "full" / "stale.pt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_loaders_name_what_is_missing(tmp_path, digits_dir):
    with pytest.raises(DataError, match="unknown split 'full/everything'"):
        load_split(digits_dir, "full/everything")
    with pytest.raises(DataError, match=r"search/train\.pt: no such file"):
        load_split(tmp_path, "search/train")
    with pytest.raises(DataError, match=r"manifest\.json: no such file"):
        load_manifest(tmp_path)
