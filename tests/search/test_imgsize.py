"""A searched input size, augmentation policy and RMSprop on a generated RGB ImageFolder:
each trial's model is built, costed, archived, retrained and exported at its own size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnx
import pytest
import torch
import yaml
from optuna.trial import TrialState

from paretonas.config import validate_config
from paretonas.data import prepare_data
from paretonas.finalize import finalize
from paretonas.models import build_model, forward_counts
from paretonas.search import attrs
from paretonas.search.archive import load_trial
from paretonas.search.distributions import SearchSpaceError
from paretonas.training import Augment, HParams
from tests.conftest import REPO
from tests.data.conftest import write_imagefolder
from tests.search.conftest import load, run_search, search_config, start

EXAMPLE = REPO / "config" / "examples" / "imgsize_augment_space.yaml"


def example_space(tmp_path: Path, steps: int = 6) -> Path:
    """The example space with a budget of ``steps`` optimizer steps."""
    space = yaml.safe_load(EXAMPLE.read_text())
    space["hparams"]["steps"] = steps
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def rgb_dir(tmp_path_factory) -> Path:
    """Six classes of colored shapes, 16 each, prepared at 32x32."""
    tmp = tmp_path_factory.mktemp("rgb")
    images = write_imagefolder(tmp / "images", per_class=16, sizes=((40, 40), (36, 44)))
    out = tmp / "data"
    data = {"source": "imagefolder", "path": str(images), "img_size": 32}
    prepare_data(validate_config({"data": data}), out)
    return out


@pytest.fixture(scope="module")
def searched(tmp_path_factory, rgb_dir):
    tmp = tmp_path_factory.mktemp("imgsize")
    config = search_config(tmp, example_space(tmp), n_trials=6, sampler="random")
    config["pruning"]["mode"] = "off"
    run_search(config, rgb_dir)
    return load(config)


def test_each_trial_is_built_costed_and_archived_at_its_own_size(searched):
    trials = searched.get_trials(states=(TrialState.COMPLETE,))
    assert len(trials) == 6
    sizes = {t.params["img_size"] for t in trials}
    assert len(sizes) >= 2, sizes  # the random sampler drew several sizes
    for trial in trials:
        size = trial.params["img_size"]
        spec, hparams, metrics = load_trial(attrs.get(trial, attrs.ARCHIVE))
        assert spec.input_size == (size, size) and hparams["img_size"] == size
        model = build_model(spec)
        recorded = metrics["costs"]["macs"]
        assert recorded == forward_counts(model, (3, size, size)).macs
        if size != 32:  # what it would have cost on the stored images is not what it recorded
            assert recorded < forward_counts(model, (3, 32, 32)).macs
        # what finalize reads back is exactly what the trial drew: size, policy, optimizer
        drawn = HParams.from_dict(hparams)
        assert drawn.augment == Augment(
            random_crop_padding=trial.params["augment/random_crop_padding"],
            horizontal_flip=trial.params["augment/horizontal_flip"],
            color_jitter=trial.params["augment/color_jitter"],
            cutout=trial.params["augment/cutout"],
        )
        assert drawn.optimizer == trial.params["optimizer"]
        assert drawn.lr == trial.params[f"optimizer/{drawn.optimizer}/lr"]
        if drawn.optimizer == "rmsprop":
            assert drawn.alpha == trial.params["optimizer/rmsprop/alpha"]


def test_a_finalist_retrains_tests_and_exports_at_its_own_size(searched, rgb_dir, tmp_path):
    trial = min(
        searched.get_trials(states=(TrialState.COMPLETE,)),
        key=lambda t: (t.params["img_size"], t.number),
    )
    size = trial.params["img_size"]
    assert size < 32
    metrics = finalize(attrs.get(trial, attrs.ARCHIVE), rgb_dir, tmp_path, epochs=1)
    assert metrics["img_size"] == size and metrics["input_shape"] == [3, size, size]
    retrained = yaml.safe_load((tmp_path / "hparams.yaml").read_text())
    archived = load_trial(attrs.get(trial, attrs.ARCHIVE))[1]
    assert retrained["img_size"] == size and retrained["augment"] == archived["augment"]
    graph = onnx.load(str(tmp_path / "model.onnx")).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[1:]] == [3, size, size]
    assert metrics["exports"]["onnx"]["max_abs_diff"] <= 1e-4
    scripted = torch.jit.load(str(tmp_path / "model.ts"))
    assert scripted(torch.zeros(2, 3, size, size)).shape == (2, 6)


def test_a_space_asking_for_more_than_the_prepared_images_stops_at_the_start(tmp_path, digits_dir):
    config = search_config(tmp_path, example_space(tmp_path), n_trials=1)
    with pytest.raises(SearchSpaceError, match=r"hparams\.img_size: 32 is larger than the"):
        start(config, digits_dir)
    assert not (tmp_path / "results").exists()
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump({"search": {"space": str(example_space(tmp_path))}}))
    command = ["search-study", "--config", str(config_file), "--data", str(digits_dir)]
    result = subprocess.run(
        [sys.executable, "-m", "paretonas", *command, "--out", str(tmp_path / "study.json")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "8x8" in lines[0] and "data.img_size: 32" in lines[0], lines
