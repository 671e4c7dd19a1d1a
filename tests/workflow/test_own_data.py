"""Own data through Snakemake: the config `paretonas init` writes and the shipped examples
(config/examples/) are accepted by a dry run of a copy of the project."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from tests.data.conftest import write_imagefolder
from tests.workflow.conftest import Project, job_counts

pytestmark = pytest.mark.slow  # real tools: not in the fast loop


def dry_run(project: Project, configfile: str) -> dict[str, int]:
    result = project.snakemake("-n", "--configfile", configfile)
    return job_counts(result.stdout)


def test_init_config_dry_run(project):
    write_imagefolder(project.path("data", "shapes"), per_class=6, sizes=((36, 30), (30, 40)))
    project.env["PYTHONPATH"] = str(project.path("src"))  # the copy's package, as the rules
    result = project.run(sys.executable, "-m", "paretonas", "init", "data/shapes")
    assert "snakemake --cores" in result.stdout
    config = yaml.safe_load(project.path("config", "shapes.yaml").read_text())
    counts = dry_run(project, "config/shapes.yaml")
    assert counts["prepare_data"] == 1
    assert counts["search_worker"] == config["search"]["workers"]
    assert counts["finalize"] == 3


def test_cell_example_dry_run(project):
    counts = dry_run(project, "config/examples/cell.yaml")
    assert counts["search_study"] == 1 and counts["search_worker"] == 2


def test_own_data_example_runs_the_data_stage(project):
    write_imagefolder(project.path("data", "my_images"), per_class=8, sizes=((48, 40),))
    counts = dry_run(project, "config/examples/own_data.yaml")
    assert counts["prepare_data"] == 1 and counts["search_worker"] == 2
    # the target first: --configfile takes every argument after it
    project.snakemake(
        "prepare_data", "--cores", "2", "--configfile", "config/examples/own_data.yaml"
    )
    manifest = json.loads(project.path("results", "my_images", "data", "manifest.json").read_text())
    assert manifest["input_shape"] == [3, 32, 32]
    assert manifest["counts"]["all"]["total"] == 48
    augment = manifest["augment"]  # the example's policy; the other keys keep their defaults
    assert {k: augment[k] for k in ("random_crop_padding", "horizontal_flip")} == {
        "random_crop_padding": 2,
        "horizontal_flip": True,
    }
    assert augment["color_jitter"] == 0.0 and augment["cutout"] == 0
