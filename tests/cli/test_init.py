"""`paretonas init` as a user runs it: the summary's numbers, the config it writes, and one
line (exit 2) for every folder it refuses."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from paretonas.cli import main
from paretonas.config import load_config
from paretonas.init_config import available_cores
from tests.conftest import REPO, paretonas
from tests.data.test_inspect import mixed_folder, save


def paretonas_init(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    pythonpath = os.pathsep.join([str(REPO / "src"), str(REPO)])
    return paretonas("init", *args, cwd=cwd, env={"PYTHONPATH": pythonpath})


@pytest.fixture
def root(tmp_path) -> Path:
    """A directory laid out as the repository root (config/search_space.yaml)."""
    (tmp_path / "config").mkdir()
    shutil.copy2(REPO / "config" / "search_space.yaml", tmp_path / "config")
    return tmp_path


def test_summary_and_config(root):
    mixed_folder(root / "data" / "pets")
    result = paretonas_init(root, "data/pets")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    flat = " ".join(out.split())  # the rows that explain wrap at 96 columns
    assert out.startswith("data/pets: imagefolder, 2 classes, 20 images\n")
    assert re.search(r"^  cat +10$", out, re.M) and re.search(r"^  dog +10$", out, re.M)
    assert re.search(r"^  total +20$", out, re.M)
    assert "  sizes (WxH)   40x30 11, 24x24 5, 50x36 3, 20x20 1\n" in out
    assert "  short side    min 20, median 30, max 36\n" in out
    assert "  modes         RGB 11, L 5, RGBA 3, P 1 (some in color)\n" in out
    assert "  skipped       2 of 22 files (prepare-data does too)\n" in out
    assert "not an image: 1: cat/notes.txt\n" in out
    assert "unreadable: 1: dog/broken.png (" in out
    assert "wrote config/pets.yaml and config/pets_space.yaml\n" in out
    assert "  input         3x28x28 (img_size 28: the median short side 30" in out
    assert max(len(line) for line in out.splitlines()) <= 96
    assert "channels 3: color" in flat
    assert "train 14, val 2, test 4; the search trains on 14 and scores on 2" in flat
    assert "from timing 3 models drawn from the space" in flat
    assert "one torch thread on cpu" in flat
    assert re.search(r"^  predicted +~\d+ (s|min|h) in all: data ", out, re.M)
    assert "data.max_bad_fraction 0.048" in flat  # 1 unreadable of 21 images (notes.txt aside)
    cores = available_cores()
    assert out.rstrip().endswith(
        f"run it:\n  snakemake --cores {cores} --configfile config/pets.yaml"
    )
    config = load_config(root / "config" / "pets.yaml")
    assert config["data"]["path"] == "data/pets"
    trials, steps = config["search"]["n_trials"], int(re.search(r"x (\d+) steps", out)[1])
    assert f"  budget        {trials} trials x {steps} steps" in out
    assert f"{config['search']['workers']} workers on {cores} cores" in flat


def one_class(root: Path) -> None:
    for i in range(4):
        save(root / "only" / f"{i}.png", "L", (8, 8))


def too_few(root: Path) -> None:
    for name, count in (("a", 4), ("b", 1)):
        for i in range(count):
            save(root / name / f"{i}.png", "L", (8, 8))


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (None, "mine: no such directory"),
        (lambda d: d.mkdir(), "mine: empty folder"),
        (lambda d: (d.mkdir(), one_class(d)), "mine: 1 class ('only', 4 images); a classifier"),
        (
            lambda d: (d.mkdir(), too_few(d)),
            "mine/b: class 'b' has 1 readable image(s); a stratified train/val/test split "
            "needs at least 3 per class",
        ),
    ],
    ids=["missing", "empty", "one-class", "too-few"],
)
def test_refusals_are_one_line_exit_2_and_write_nothing(root, monkeypatch, capsys, build, expected):
    if build is not None:
        build(root / "mine")
    monkeypatch.chdir(root)
    assert main(["init", "mine"]) == 2  # the console script's entry point, in this process
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"paretonas init: error: {expected}"), lines
    assert sorted(p.name for p in (root / "config").iterdir()) == ["search_space.yaml"]


def test_existing_config_is_kept(root):
    mixed_folder(root / "pets")
    (root / "config" / "pets.yaml").write_text("seed: 3\n")
    result = paretonas_init(root, "pets")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "paretonas init: error: config/pets.yaml: exists; pass --force to replace it, "
        "or --name another"
    ]
    assert (root / "config" / "pets.yaml").read_text() == "seed: 3\n"
