"""The idx source: the real MNIST test set and small generated IDX files."""

from __future__ import annotations

import gzip
import tracemalloc

import numpy as np
import pytest
import torch

from paretonas.data import load_manifest, load_split_file, prepare_data
from paretonas.data._idx import load_idx
from paretonas.errors import DataError
from tests.data.conftest import MNIST_DIR, assert_no_output, config, write_idx

MNIST_PER_CLASS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # its README


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("mnist") / "data"
    prepare_data(config(source="idx", path=str(MNIST_DIR)), out_dir)
    return out_dir


def test_mnist_t10k_shapes_counts_and_md5s(mnist_dir):
    manifest = load_manifest(mnist_dir)
    assert manifest["counts"]["all"]["total"] == 10_000
    assert list(manifest["counts"]["all"]["per_class"].values()) == MNIST_PER_CLASS
    assert manifest["input_shape"] == [1, 28, 28]
    assert manifest["class_names"] == [str(i) for i in range(10)]
    lines = (MNIST_DIR / "MD5SUMS").read_text().split("\n")
    md5sums = {name: md5 for md5, name in (line.split() for line in lines if line.strip())}
    assert manifest["raw_md5"] == md5sums
    test = load_split_file(mnist_dir, "full/test")
    assert test["images"].shape == (2000, 1, 28, 28)
    assert manifest["counts"]["search/train"]["total"] == 3500


def test_mnist_split_files_load_with_weights_only(mnist_dir):
    data = torch.load(mnist_dir / "search" / "val.pt", weights_only=True)
    assert set(data) == {"images", "labels", "indices"}
    assert data["images"].dtype == torch.uint8 and data["indices"].dtype == torch.int64
    assert 0.1 < load_manifest(mnist_dir)["normalization"]["mean"][0] < 0.15


def test_small_idx_with_remapped_labels(tmp_path):
    directory = tmp_path / "idx"
    directory.mkdir()
    images = np.arange(24 * 4 * 6).reshape(24, 4, 6) % 256
    write_idx(directory / "a-images-idx3-ubyte.gz", 0x803, images)
    write_idx(directory / "a-labels-idx1-ubyte", 0x801, np.array([3, 7, 9] * 8))
    with pytest.raises(DataError, match=r"set data.label_values: \[3, 7, 9\]"):
        prepare_data(config(source="idx", path=str(directory)), tmp_path / "out")
    manifest = prepare_data(
        config(source="idx", path=str(directory), label_values=[3, 7, 9]), tmp_path / "out"
    )
    assert manifest["class_names"] == ["3", "7", "9"] and manifest["input_shape"] == [1, 4, 6]
    data = load_split_file(tmp_path / "out", "full/train")
    rows = data["indices"].numpy()
    assert np.array_equal(data["images"][:, 0].numpy(), images[rows])
    assert np.array_equal(data["labels"].numpy(), rows % 3)


@pytest.mark.parametrize(
    ("labels", "allowed", "message"),
    [
        (  # issue [5/5] case 17: a stray 200 among 0..9
            [*range(10)] * 3 + [200] * 3,
            None,
            "unexpected label value(s) 200 (3 images) (expected one range of consecutive values; "
            "the others are 0..9): fix the labels file; if they are classes, set "
            "data.label_values: "
            "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 200]",
        ),
        ([1, 2, 3, 9] * 3, None, "value(s) 9 (3 images) (expected one range of consecutive"),
        ([3, 7, 9, 8] * 3, [3, 7, 9], "value(s) 8 (3 images) (expected data.label_values [3,"),
    ],
)
def test_unexpected_label_values_are_refused(tmp_path, labels, allowed, message):
    directory = tmp_path / "idx"
    directory.mkdir()
    write_idx(directory / "c-images-idx3-ubyte", 0x803, np.zeros((len(labels), 4, 4)))
    write_idx(directory / "c-labels-idx1-ubyte", 0x801, np.array(labels))
    with pytest.raises(DataError) as info:
        prepare_data(
            config(source="idx", path=str(directory), label_values=allowed), tmp_path / "out"
        )
    assert str(info.value).startswith("data.label_values: ") and message in str(info.value)
    assert_no_output(tmp_path / "out")


def test_labels_from_one_are_accepted(tmp_path):
    """EMNIST letters label 1..26: any range of consecutive values is classes, not strays."""
    directory = tmp_path / "idx"
    directory.mkdir()
    write_idx(directory / "d-images-idx3-ubyte", 0x803, np.zeros((12, 4, 4)))
    write_idx(directory / "d-labels-idx1-ubyte", 0x801, np.array([1, 2, 3] * 4))
    manifest = prepare_data(config(source="idx", path=str(directory)), tmp_path / "out")
    assert manifest["class_names"] == ["1", "2", "3"]


def test_wrong_magic_number_names_the_file(tmp_path):
    directory = tmp_path / "idx"
    directory.mkdir()
    write_idx(directory / "b-images-idx3-ubyte", 0x801, np.zeros((9, 5, 5)), dims=(9, 5, 5))
    write_idx(directory / "b-labels-idx1-ubyte", 0x801, np.arange(9) % 3)
    out_dir = tmp_path / "out"
    with pytest.raises(
        DataError,
        match=r"b-images-idx3-ubyte: wrong magic number: "
        r"expected 0x00000803 .* found 0x00000801",
    ):
        prepare_data(config(source="idx", path=str(directory)), out_dir)
    assert_no_output(out_dir)


def test_image_label_count_mismatch_names_both_counts(small_idx, tmp_path):
    out_dir = tmp_path / "out"
    directory = small_idx(n_images=30, n_labels=27)
    with pytest.raises(DataError, match=r"has 30 images but x-labels-idx1-ubyte\.gz has 27 labels"):
        prepare_data(config(source="idx", path=str(directory)), out_dir)
    assert_no_output(out_dir)


def test_truncated_file(small_idx, tmp_path):
    directory = small_idx()
    path = directory / "x-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(DataError, match=r"x-images-idx3-ubyte: truncated: header says 30x5x5"):
        prepare_data(config(source="idx", path=str(directory)), tmp_path / "out")
    assert_no_output(tmp_path / "out")


def test_missing_or_ambiguous_idx_files(small_idx, tmp_path):
    directory = small_idx()
    (directory / "x-labels-idx1-ubyte.gz").rename(directory / "labels.bin")
    with pytest.raises(DataError, match=r"no \*labels-idx1-ubyte\[\.gz\] file"):
        prepare_data(config(source="idx", path=str(directory)), tmp_path / "out")
    (directory / "y-images-idx3-ubyte.gz").write_bytes(b"")
    several = r"several \*images-idx3-ubyte\[\.gz\] files: x-images-idx3-ubyte, y-images-idx3"
    with pytest.raises(DataError, match=several):
        prepare_data(config(source="idx", path=str(directory)), tmp_path / "out")
    assert_no_output(tmp_path / "out")


def test_a_gzip_bomb_is_decompressed_no_further_than_its_header_promises(tmp_path):
    """1 GiB of zeros after 192 bytes of values: refused after reading at most 193 of them."""
    directory = tmp_path / "idx"
    directory.mkdir()
    path = write_idx(directory / "b-images-idx3-ubyte.gz", 0x803, np.zeros((12, 4, 4)))
    with open(path, "ab") as handle:
        handle.write(gzip.compress(bytes(1 << 24), mtime=0) * 64)  # 64 members of 16 MiB
    write_idx(directory / "b-labels-idx1-ubyte", 0x801, np.arange(12) % 3)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"holds more than the 12x4x4 = 192 bytes of values"):
            load_idx(directory)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, peak  # a few buffers, never the 1 GiB
