"""config/examples/: each example validates, and the cell space builds a network for every
draw at the image shapes the data sources give."""

from __future__ import annotations

import optuna
import pytest

from paretonas.config import load_config
from paretonas.models import build_model
from paretonas.search.space import DataShape, load_space
from tests.conftest import REPO

EXAMPLES = REPO / "config" / "examples"


@pytest.mark.parametrize("name", ["cell.yaml", "own_data.yaml"])
def test_example_configs_validate(name):
    config = load_config(EXAMPLES / name)
    assert config["results_dir"] != "results"  # never mixed with the default run
    assert (REPO / config["search"]["space"]).is_file()


def test_own_data_example_is_an_imagefolder():
    data = load_config(EXAMPLES / "own_data.yaml")["data"]
    assert data["source"] == "imagefolder" and data["path"] == "data/my_images"


@pytest.mark.parametrize(
    "shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)], ids=lambda s: "x".join(map(str, s))
)
def test_cell_space_every_draw_builds(shape):
    space = load_space(EXAMPLES / "cell_space.yaml")
    assert space.model["style"] == "cell"
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    reductions = set()
    for _ in range(20):
        trial = study.ask()
        sample = space.sample(trial, DataShape(shape, 10))
        net = build_model(sample.spec)
        assert net.output_shape == (10,)
        strided = [layer for layer in net.layers[1:] if layer.args.get("stride") == 2]
        reductions.add(len(strided))
        pool = next(layer for layer in net.layers if layer.module == "GlobalAvgPool")
        assert min(pool.in_shape[1:]) >= 2  # the map never shrinks below 2x2
        study.tell(trial, 0.0)
    assert reductions == {2}  # two reductions fit 8x8 and larger
