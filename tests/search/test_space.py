"""Search spaces: parsing errors name the key; every sample builds; names are scoped."""

from __future__ import annotations

import optuna
import pytest
import yaml

from paretonas.models import build_model
from paretonas.search.distributions import SearchSpaceError
from paretonas.search.space import DataShape, SearchSpace, load_space
from tests.conftest import REPO

DEFAULT = yaml.safe_load((REPO / "config" / "search_space.yaml").read_text())
SHAPES = [DataShape((1, 8, 8), 10), DataShape((1, 28, 28), 10), DataShape((3, 32, 32), 6)]
CELL = {
    "style": "cell",
    "stem": {"out_channels": 16},
    "n": [{"int": [1, 2]}, {"int": [1, 2]}, {"int": [1, 3]}],
    "width": {"int": [8, 24], "step": 8},
    "growth": 2.0,
    "normal": {"categorical": ["Conv", "InvertedResidualv3", "Fire"]},
    "reduction": {"categorical": ["DWConv", "InvertedResidualv2"]},
    "modules": {
        "Conv": {"kernel_size": 3},
        "DWConv": {"kernel_size": {"int": [3, 5], "step": 2}},
        "InvertedResidualv2": {"expand_ratio": {"int": [2, 4]}},
        "InvertedResidualv3": DEFAULT["model"]["modules"]["InvertedResidualv3"],
        "Fire": {},
    },
}


def space_with(**model) -> dict:
    data = yaml.safe_load(yaml.safe_dump(DEFAULT))
    data["model"].update(model)
    return data


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s.input_shape)))
@pytest.mark.parametrize("model", [DEFAULT["model"], CELL], ids=["macro", "cell"])
def test_every_sample_builds_and_respects_the_stride_budget(shape, model):
    space = SearchSpace({"model": model, "hparams": DEFAULT["hparams"]}, "<test>")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(25):
        trial = study.ask()
        sample = space.sample(trial, shape)
        net = build_model(sample.spec)
        assert net.output_shape == (shape.num_classes,)
        assert net.input_shape == shape.input_shape
        strides = sum(
            1 for layer in net.layers[1:] if layer.args.get("stride") == 2 and layer.module
        )
        assert strides <= model.get("max_strides", 2)
        assert min(net.layers[-3].in_shape[1:]) >= 1
        study.tell(trial, 0.0)


def test_parameter_names_are_scoped_by_branch():
    space = SearchSpace(DEFAULT, "<test>")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    names: dict[str, object] = {}
    for _ in range(60):
        trial = study.ask()
        space.sample(trial, SHAPES[1])
        for name, dist in trial.distributions.items():
            assert names.setdefault(name, dist) == dist, name  # one distribution per name
        study.tell(trial, 0.0)
    assert any(n.startswith("m1/InvertedResidualv3/") for n in names)
    assert {"optimizer", "optimizer/sgd/momentum", "optimizer/adamw/lr"} <= set(names)


def test_hparams_flatten_branches():
    space = SearchSpace(DEFAULT, "<test>")
    trial = optuna.trial.FixedTrial(
        {
            "stem/out_channels": 16,
            "stem/activation": "ReLU",
            "m1": "Pass",
            "m2": "Pass",
            "m3": "Pass",
            "head_dropout": 0.0,
            "optimizer": "sgd",
            "optimizer/sgd/lr": 0.1,
            "optimizer/sgd/momentum": 0.9,
            "optimizer/sgd/nesterov": True,
            "weight_decay": 1e-4,
            "batch_size": 32,
            "label_smoothing": 0.0,
            "schedule": "cosine",
        }
    )
    sample = space.sample(trial, SHAPES[0])
    assert sample.hparams["optimizer"] == "sgd"
    assert sample.hparams["momentum"] == 0.9 and sample.hparams["nesterov"] is True
    assert sample.hparams["steps"] == 200 and "epochs" not in sample.hparams
    assert [row.module for row in sample.spec.backbone] == [
        "Conv",
        "GlobalAvgPool",
        "Flatten",
        "Linear",
    ]


BAD = [
    (space_with(modules={"Conv5": {}}), ["model.modules.Conv5", "unknown module 'Conv5'"]),
    (
        space_with(modules={"Conv": {"out_channels": {"int": [64, 16]}}}),
        ["model.modules.Conv.out_channels", "low 64 > high 16"],
    ),
    (
        space_with(modules={"Conv": {"kernel": 3}}),
        ["model.modules.Conv.kernel", "not a searchable"],
    ),
    (
        space_with(modules={"Conv": {"stride": 2}}),
        ["model.modules.Conv.stride", "comes from the slot"],
    ),
    (space_with(repeat={"int": [1, 3], "log": True, "step": 2}), ["model.repeat", "step and log"]),
    (
        space_with(stride={"float": [0, 1], "log": True}),
        ["model.stride", "log scale needs low > 0"],
    ),
    (space_with(stride={"uniform": [1, 2]}), ["model.stride", "exactly one of int, float"]),
    (space_with(head_dropout={"categorical": []}), ["model.head_dropout", "non-empty list"]),
    (space_with(slots=0), ["model.slots", "integer >= 1"]),
    (space_with(style="grid"), ["model.style", "macro or cell"]),
    (space_with(slot=3), ["model", "unknown key(s) ['slot']"]),
    ({"model": DEFAULT["model"]}, ["missing top-level key 'hparams'"]),
    (
        {"model": {"style": "macro", "stem": {"out_channels": 8}}, "hparams": {}},
        ["model", "missing key(s)", "modules", "slots"],
    ),
    (
        {"model": DEFAULT["model"], "hparams": {"lr": {"float": ["a", 1]}}},
        ["hparams.lr", "expected [low, high] numbers"],
    ),
    (
        {"model": {**CELL, "normal": {"categorical": ["Bottleneck"]}}, "hparams": {}},
        ["model.normal", "'Bottleneck' has no entry under modules"],
    ),
    # the whole space is checked before any trial: what a trial could draw must work
    (
        {"model": DEFAULT["model"], "hparams": {"img_size": {"categorical": [0, 16]}}},
        ["hparams.img_size", "img_size: 0 must be >= 1"],
    ),
    (
        {"model": DEFAULT["model"], "hparams": {"imgsize": 32}},
        ["hparams.imgsize", "unknown hyperparameter 'imgsize'"],
    ),
    (
        {
            "model": DEFAULT["model"],
            "hparams": {"optimizer": {"branches": {"sgd": {"img_size": 16}}}},
        },
        ["hparams.optimizer.branches.sgd.img_size", "at the top of hparams"],
    ),
    (
        {"model": DEFAULT["model"], "hparams": {"augment": {"cutuot": {"int": [0, 4]}}}},
        ["hparams.augment.cutuot", "unknown key(s): 'cutuot'"],
    ),
    (
        {"model": DEFAULT["model"], "hparams": {"augment": {"color_jitter": {"float": [0, 1]}}}},
        ["hparams.augment.color_jitter", "color_jitter: 1.0 must be < 1.0"],
    ),
    (
        {"model": DEFAULT["model"], "hparams": {"augment": {"categorical": [0, 2]}}},
        ["hparams.augment.categorical", "unknown key(s): 'categorical'"],
    ),
    (
        {"model": DEFAULT["model"], "hparams": {"augment": True}},
        ["hparams.augment", "expected a mapping of its keys"],
    ),
    (
        {
            "model": DEFAULT["model"],
            "hparams": {"optimizer": {"branches": {"rmsprop": {"alpha": 1}}}},
        },
        ["hparams.optimizer.branches.rmsprop.alpha", "must be < 1.0"],
    ),
    (
        {"model": DEFAULT["model"], "hparams": {"schedule": {"categorical": ["cosine", "cos"]}}},
        ["hparams.schedule", "unknown value 'cos'"],
    ),
    (
        {"model": DEFAULT["model"], "hparams": {"optimizer": {"branches": {"lion": {}}}}},
        ["hparams.optimizer.branches.lion", "'lion'"],
    ),
    (
        {"model": DEFAULT["model"], "hparams": {"batch_size": {"int": [0, 64]}}},
        ["hparams.batch_size"],
    ),
    (
        space_with(modules={"Conv": {"out_channels": 16}, "Linear": {"out_features": 10}}),
        ["model.modules.Linear", "cannot stand in a slot"],
    ),
    (space_with(modules={}), ["model.modules", "no module to choose from"]),
]


@pytest.mark.parametrize(("data", "expected"), BAD)
def test_malformed_space_names_the_key(tmp_path, data, expected):
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SearchSpaceError) as info:
        load_space(path)
    message = str(info.value)
    assert message.startswith(str(path))
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_default_space_file_loads():
    assert load_space(REPO / "config" / "search_space.yaml").model["style"] == "macro"


EXAMPLE = REPO / "config" / "examples" / "imgsize_augment_space.yaml"


def test_img_size_is_drawn_first_and_the_model_is_built_for_it():
    space = load_space(EXAMPLE)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_sizes, optimizers = set(), set()
    for _ in range(30):
        trial = study.ask()
        sample = space.sample(trial, DataShape((3, 32, 32), 6))
        size = sample.hparams["img_size"]
        assert size == trial.params["img_size"] and size in (16, 24, 32)
        assert sample.spec.input_size == (size, size)
        net = build_model(sample.spec)
        assert net.input_shape == (3, size, size) and net.output_shape == (6,)
        assert min(net.layers[-3].in_shape[1:]) >= 1  # the stride budget of the drawn size
        augment = sample.hparams["augment"]
        assert set(augment) == {"random_crop_padding", "horizontal_flip", "color_jitter", "cutout"}
        assert augment["cutout"] == trial.params["augment/cutout"]
        optimizers.add(sample.hparams["optimizer"])
        if sample.hparams["optimizer"] == "rmsprop":
            assert 0.9 <= sample.hparams["alpha"] <= 0.99
            assert "optimizer/rmsprop/alpha" in trial.params
        seen_sizes.add(size)
        study.tell(trial, 0.0)
    assert seen_sizes == {16, 24, 32} and optimizers == {"adamw", "sgd", "rmsprop"}


def test_an_img_size_larger_than_the_prepared_images_is_refused():
    space = load_space(EXAMPLE)
    space.check_data(DataShape((3, 32, 32), 6), "data/manifest.json")  # 32 is fine
    with pytest.raises(SearchSpaceError) as info:
        space.check_data(DataShape((1, 8, 8), 10), "data/manifest.json")
    assert str(info.value) == (
        f"{EXAMPLE}: hparams.img_size: 32 is larger than the prepared images (8x8, "
        "data/manifest.json); images are only ever shrunk: prepare them at data.img_size: 32 "
        "or more (imagefolder), or search sizes up to 8"
    )
    trial = optuna.create_study().ask(
        {"img_size": optuna.distributions.CategoricalDistribution([16, 24, 32])}
    )
    with pytest.raises(SearchSpaceError, match=r"hparams\.img_size: \d+ is larger"):
        space.sample(trial, DataShape((3, 12, 12), 6))
    load_space(REPO / "config" / "search_space.yaml").check_data(SHAPES[0], "-")  # no img_size
