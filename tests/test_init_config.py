"""init_config: the config `paretonas init` writes follows the data, validates, and the data
stage accepts it; the budget follows the calibration; nothing is overwritten unasked."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from paretonas.config import load_config
from paretonas.data import load_manifest, prepare_data
from paretonas.data.inspect import SourceReport
from paretonas.errors import ConfigError
from paretonas.init_config import (
    STEPS_RANGE,
    TRIALS_RANGE,
    available_cores,
    choose_budget,
    choose_img_size,
    choose_search_fraction,
    config_name,
    init_config,
    split_sizes,
)
from paretonas.search.calibrate import Calibration
from paretonas.search.space import load_space
from paretonas.small_data import SMALL_SEARCH_MIN_STEPS, is_small
from tests.conftest import REPO
from tests.data.conftest import write_idx, write_imagefolder
from tests.data.test_inspect import mixed_folder

# one short calibration: these tests check the config, tests/cli/test_init.py the default timing
QUICK = {"calibration_models": 1, "calibration_steps": 6}


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A working directory laid out as the repository root (config/search_space.yaml)."""
    (tmp_path / "config").mkdir()
    shutil.copy2(REPO / "config" / "search_space.yaml", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_writes_a_config_the_data_stage_accepts(project):
    mixed_folder(project / "data" / "My Pets!")
    plan = init_config("data/My Pets!", **QUICK)
    assert plan.name == "my_pets"
    assert plan.config_path == Path("config/my_pets.yaml")
    written = yaml.safe_load(plan.config_path.read_text())
    assert written == plan.config
    data = written["data"]
    assert data["source"] == "imagefolder" and data["path"] == "data/My Pets!"
    assert data["img_size"] == 28  # median short side 30, down to a multiple of 4
    assert data["channels"] == 3  # some images have color
    assert data["max_bad_fraction"] == 0.048  # 1 unreadable of 21 images, rounded up
    assert written["results_dir"] == "results/my_pets"
    assert written["search"]["workers"] == min(available_cores(), 8)
    assert TRIALS_RANGE[0] <= written["search"]["n_trials"] <= TRIALS_RANGE[1]
    config = load_config(plan.config_path)  # the schema accepts it
    space = load_space(config["search"]["space"])
    assert space.raw["hparams"]["steps"] == plan.steps
    # 14 training images a class is small data: the space augments (colour: crops and flips)
    assert plan.space_written
    assert space.raw["hparams"]["augment"] == {"random_crop_padding": 3, "horizontal_flip": True}
    assert config["finalize"]["epochs"] >= 30
    estimate = written["estimate"]  # init's prediction, which status and the report compare
    stages = ("data", "search", "profile", "finalize", "bookkeeping")
    assert abs(estimate["total"] - sum(estimate[key] for key in stages)) <= 3
    assert estimate["search"] > 0 and estimate["finalize"] > 0
    manifest = prepare_data(config, project / "out")  # and the data stage runs on it
    assert manifest["input_shape"] == [3, 28, 28] == list(plan.input_shape)
    assert manifest["counts"]["all"]["per_class"] == {"cat": 10, "dog": 10}
    assert manifest["bad_file_count"] == 1  # broken.png; notes.txt is no image
    for split, size in plan.splits.items():
        assert load_manifest(project / "out")["counts"][split]["total"] == size, split
    text = plan.config_path.read_text()
    assert "snakemake --cores" in text and "--configfile config/my_pets.yaml" in text


def test_gray_large_images_get_one_channel_64_px_and_a_strided_stem(project):
    write_imagefolder(project / "scans", per_class=4, sizes=((120, 100),), gray=True)
    plan = init_config("scans", "scans64", **QUICK)
    assert plan.config["data"]["img_size"] == 64
    assert plan.config["data"]["channels"] == 1
    assert plan.input_shape == (1, 64, 64)
    assert plan.space_written
    assert plan.config["search"]["space"] == "config/scans64_space.yaml"
    space = yaml.safe_load(Path("config/scans64_space.yaml").read_text())
    assert space["model"]["stem"]["stride"] == 2
    default = yaml.safe_load((REPO / "config" / "search_space.yaml").read_text())
    space["model"]["stem"].pop("stride")
    space["hparams"].pop("steps")
    default["hparams"].pop("steps")
    # 4 images a class is small data: crops of an eighth of the side, no flips (gray)
    assert space["hparams"].pop("augment") == {"random_crop_padding": 8, "horizontal_flip": False}
    assert space == default  # nothing else changed


def test_idx_keeps_its_native_size(project):
    directory = project / "digits-idx"
    directory.mkdir()
    rng = np.random.default_rng(0)
    write_idx(directory / "x-images-idx3-ubyte.gz", 0x803, rng.integers(0, 256, (60, 12, 12)))
    write_idx(directory / "x-labels-idx1-ubyte", 0x801, np.arange(60) % 3)
    plan = init_config(directory, **QUICK)
    assert plan.name == "digits-idx"
    assert plan.config["data"]["source"] == "idx"
    assert "img_size" not in plan.config["data"] and "channels" not in plan.config["data"]
    assert plan.config["data"]["path"] == "digits-idx"
    assert plan.input_shape == (1, 12, 12)
    assert plan.splits["full/train"] + plan.splits["full/val"] + plan.splits["full/test"] == 60
    load_config(plan.config_path)


def test_an_existing_config_is_kept_without_force(project):
    write_imagefolder(project / "shapes", per_class=4, sizes=((20, 20),))
    Path("config/shapes.yaml").write_text("seed: 7\n")
    with pytest.raises(ConfigError) as info:
        init_config("shapes", **QUICK)
    assert str(info.value) == (
        "config/shapes.yaml: exists; pass --force to replace it, or --name another"
    )
    assert Path("config/shapes.yaml").read_text() == "seed: 7\n"
    plan = init_config("shapes", force=True, **QUICK)
    assert load_config(plan.config_path)["data"]["path"] == "shapes"


def test_outside_the_repository_root_it_says_so(tmp_path, monkeypatch):
    write_imagefolder(tmp_path / "shapes", per_class=4)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        init_config("shapes")
    assert str(info.value).startswith("config/search_space.yaml: no such file; run paretonas")
    assert not (tmp_path / "config").exists()


@pytest.mark.parametrize(
    ("folder", "name", "expected"),
    [
        ("data/Trash Net (v2)", None, "trash_net_v2"),
        ("data/mnist", None, "mnist"),
        ("data/!!!", None, "data"),
        ("data/x", "my-run.2", "my-run.2"),
    ],
)
def test_config_names(folder, name, expected):
    assert config_name(folder, name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a/b", "--name: 'a/b': use letters"),
        ("-x", "--name: '-x': use letters"),
        ("config", "--name: 'config' would write config/config.yaml"),
        ("search", "config/search_space.yaml, which the defaults use"),
    ],
)
def test_bad_or_reserved_names_are_refused(name, expected):
    with pytest.raises(ConfigError) as info:
        config_name("data/x", name)
    assert expected in str(info.value)


def report_with(short_sides: list[int], source: str = "imagefolder") -> SourceReport:
    return SourceReport(
        path=Path("x"),
        source=source,
        class_names=["a", "b"],
        counts=[len(short_sides), 0],
        sizes=Counter((side + 10, side) for side in short_sides),
    )


@pytest.mark.parametrize(
    ("sides", "expected"),
    [([8, 8, 8], 16), ([30, 31, 45], 28), ([33, 35, 90], 32), ([200, 500, 384], 64)],
)
def test_img_size_is_the_median_short_side_clamped(sides, expected):
    assert choose_img_size(report_with(sides)) == expected


def test_idx_has_no_img_size():
    assert choose_img_size(report_with([28], source="idx")) is None


DATA = {
    "test_fraction": 0.2,
    "val_fraction": 0.1,
    "search_fraction": 0.5,
    "search_max_per_class": None,
    "search_val_min_per_class": 50,
}


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([400] * 6, 1.0),  # small: the search trains on all of full/train
        ([6000] * 10, 0.09),  # 0.09 x 600 val = 54 a class >= 50
        ([60000] * 10, 0.01),  # 0.01 x 42,000 train = 420 >= 250 a class
        ([5000] * 4, 0.1),  # val: 50 x 4 / 2,000
    ],
)
def test_search_fraction_keeps_enough_images_a_class(counts, expected):
    fraction = choose_search_fraction(counts, DATA)
    assert fraction == expected
    sizes = split_sizes(counts, {**DATA, "search_fraction": fraction})
    assert sizes["search/train"] >= min(250 * len(counts), sizes["full/train"])
    assert sizes["search/val"] >= min(50 * len(counts), sizes["full/val"])


def calibration(step_seconds: float) -> Calibration:
    return Calibration(
        models=3,
        steps=30,
        step_seconds=step_seconds,
        eval_image_seconds=1e-5,
        device="cpu",
        seconds=1.0,
    )


def test_budget_steps_follow_the_data_and_trials_the_machine():
    splits = {"search/train": 3000, "search/val": 500}
    steps, trials = choose_budget(calibration(0.01), splits, 48.0, 2, 30)
    assert steps == 950  # 15 epochs of 3,000 images at batch 48, in fifties
    assert trials == TRIALS_RANGE[1]  # a fast machine: as many as the range allows
    _, fewer = choose_budget(calibration(0.1), splits, 48.0, 2, 30)
    trial = calibration(0.1).trial_seconds(950, 63, 500)
    assert fewer == int(30 * 60 * 2 // trial) < TRIALS_RANGE[1]
    _, more_workers = choose_budget(calibration(0.1), splits, 48.0, 4, 30)
    assert more_workers == int(30 * 60 * 4 // trial)


def test_a_slow_machine_gets_fewer_steps_before_fewer_than_the_least_trials():
    splits = {"search/train": 3000, "search/val": 500}
    slow = calibration(1.0)
    steps, trials = choose_budget(slow, splits, 48.0, 2, 30)
    assert STEPS_RANGE[0] <= steps < 950
    assert trials == int(30 * 60 * 2 // slow.trial_seconds(steps, 63, 500)) >= TRIALS_RANGE[0]
    assert 30 * 60 * 2 // slow.trial_seconds(steps + 50, 63, 500) < TRIALS_RANGE[0]
    steps, trials = choose_budget(calibration(10.0), splits, 48.0, 2, 30)
    assert (steps, trials) == (STEPS_RANGE[0], TRIALS_RANGE[0])  # the floor, over time


@pytest.mark.parametrize(
    ("train", "classes", "small"),
    [(630, 6, True), (2999, 6, True), (3000, 6, False), (35_000, 10, False)],
)
def test_small_data_is_under_500_training_images_a_class(train, classes, small):
    assert is_small({"full/train": train}, classes) is small


def test_small_data_trains_longer_trials_and_never_under_its_floor():
    splits = {"search/train": 630, "search/val": 90}
    steps, _ = choose_budget(calibration(0.01), splits, 48.0, 2, 10, small=True)
    assert steps == 400  # 30 epochs of 630 images at batch 48, in fifties (15 for large data)
    assert choose_budget(calibration(0.01), splits, 48.0, 2, 10)[0] == 200
    steps, trials = choose_budget(calibration(10.0), splits, 48.0, 2, 10, small=True)
    assert (steps, trials) == (SMALL_SEARCH_MIN_STEPS, TRIALS_RANGE[0])  # slow: the floors
