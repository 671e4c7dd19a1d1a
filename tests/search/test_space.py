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
        {"model": DEFAULT["model"], "hparams": {"img_size": 32}},
        ["hparams.img_size", "unknown hyperparameter 'img_size'"],
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
