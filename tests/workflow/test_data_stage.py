"""The data stage through Snakemake and DVC, as a user runs them (real tools, temp project)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from tests.workflow.conftest import Project

pytestmark = pytest.mark.slow  # real tools and servers: not in the fast loop

DATA_FILES = [
    "manifest.json",
    "full/train.pt",
    "full/val.pt",
    "full/test.pt",
    "search/train.pt",
    "search/val.pt",
]


def md5s(root) -> dict[str, str]:
    return {name: hashlib.md5((root / name).read_bytes()).hexdigest() for name in DATA_FILES}


def manifest(project) -> dict:
    return json.loads(project.path("results", "data", "manifest.json").read_text())


def test_lint_is_clean(project):
    result = project.snakemake("--lint")
    assert "Congratulations" in result.stdout + result.stderr


def test_digits_then_nothing_to_do(project):
    project.snakemake("--cores", "4", "prepare_data")
    info = manifest(project)
    assert info["source"]["name"] == "digits"
    assert info["counts"]["all"]["total"] == 1797
    assert info["input_shape"] == [1, 8, 8]
    for name in DATA_FILES:
        assert project.path("results", "data", name).is_file()
    assert project.path("results", "logs", "prepare_data.log").is_file()
    assert project.path("results", "benchmarks", "prepare_data.tsv").is_file()
    dry = project.snakemake("-n", "prepare_data")
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_idx_source_on_mnist(project):
    project.set_config(data={"source": "idx", "path": "data/mnist-t10k"})
    project.snakemake("--cores", "4", "prepare_data")
    info = manifest(project)
    assert info["counts"]["all"]["total"] == 10_000
    assert info["input_shape"] == [1, 28, 28]
    sums = dict(
        line.split()[::-1]
        for line in project.path("data", "mnist-t10k", "MD5SUMS").read_text().splitlines()
    )
    assert {k.split("/")[-1]: v for k, v in info["raw_md5"].items()} == sums


def test_imagefolder_rgb_six_classes(project):
    rng = np.random.default_rng(0)
    root = project.path("data", "shapes")
    for c in range(6):
        (root / f"class_{c}").mkdir(parents=True)
        for i in range(10):
            color = np.array([40 * c, 255 - 40 * c, (i * 25) % 255], dtype=np.uint8)
            pixels = np.clip(color + rng.integers(0, 30, (40, 40, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, "RGB").save(root / f"class_{c}" / f"{i}.png")
    project.set_config(data={"source": "imagefolder", "path": "data/shapes", "img_size": 32})
    project.snakemake("--cores", "4", "prepare_data")
    info = manifest(project)
    assert info["input_shape"] == [3, 32, 32]
    assert info["class_names"] == [f"class_{c}" for c in range(6)]
    assert info["counts"]["all"]["total"] == 60


def test_bad_config_key_stops_before_running(project):
    project.set_config(data={"serch_fraction": 0.3})
    result = project.snakemake("-n", check=False)
    assert result.returncode != 0
    assert "serch_fraction" in result.stdout + result.stderr
    assert not project.path("results").exists()


@pytest.mark.parametrize("value", [1.5, 0])
def test_fraction_out_of_range_is_refused(project, value):
    project.set_config(data={"search_fraction": value})
    result = project.snakemake("-n", check=False)
    assert result.returncode != 0
    assert "search_fraction" in result.stdout + result.stderr


def test_dvc_repro_push_pull(project, tmp_path):
    project.run("git", "init", "-q")
    project.snakemake("--cores", "2", "prepare_data")
    before = md5s(project.path("results", "data"))
    mtime = project.path("results", "data", "full", "train.pt").stat().st_mtime_ns

    # After a Snakemake run, `dvc repro` records the outputs without recomputing them.
    repro = project.dvc("repro", "data")
    assert md5s(project.path("results", "data")) == before
    assert project.path("results", "data", "full", "train.pt").stat().st_mtime_ns == mtime
    assert "Nothing to be done" in repro.stdout + repro.stderr
    assert "results/data" in project.path("dvc.lock").read_text()
    assert "Data and pipelines are up to date" in project.dvc("status", "data").stdout

    # A changed config key makes DVC redo the stage (and Snakemake with it).
    project.set_config(data={"search_fraction": 0.3})
    dry = project.snakemake("-n", "prepare_data")  # Snakemake sees it too, and says why
    assert "prepare_data" in dry.stdout and "params" in (dry.stdout + dry.stderr).lower()
    status = project.dvc("status").stdout
    assert "config/config.yaml" in status and "modified" in status and "data" in status
    project.dvc("repro", "data")
    assert manifest(project)["data_config"]["search_fraction"] == 0.3
    changed = md5s(project.path("results", "data"))
    assert changed["search/train.pt"] != before["search/train.pt"]
    assert changed["full/train.pt"] == before["full/train.pt"]  # full splits don't move
    dry = project.snakemake("-n", "prepare_data")
    assert "Nothing to be done" in dry.stdout + dry.stderr

    # Push to a local remote; a fresh clone pulls identical outputs.
    remote = tmp_path / "remote"
    project.dvc("remote", "add", "-d", "local", str(remote))
    project.dvc("push")
    project.run("git", "add", "-A")
    project.run("git", "commit", "-qm", "data")
    clone = tmp_path / "clone"
    project.run("git", "clone", "-q", str(project.root), str(clone))
    Project(clone, project.env).dvc("pull", "data")
    assert md5s(clone / "results" / "data") == changed
