"""HParams and Augment: defaults, round trips, and one ConfigError per bad value."""

from __future__ import annotations

import pytest

from paretonas.errors import ConfigError
from paretonas.training import Augment, HParams


def test_defaults_round_trip():
    assert HParams.from_dict({}) == HParams()
    params = HParams(optimizer="sgd", lr=0.1, nesterov=True, schedule="step", epochs=3)
    assert HParams.from_dict(params.to_dict()) == params
    assert Augment.from_dict(Augment(4, True).to_dict()) == Augment(4, True)
    searched = HParams(
        optimizer="rmsprop", alpha=0.9, img_size=24, augment=Augment(2, True, 0.3, 5)
    )
    data = searched.to_dict()
    assert data["augment"] == {
        "random_crop_padding": 2,
        "horizontal_flip": True,
        "color_jitter": 0.3,
        "cutout": 5,
    }
    assert HParams.from_dict(data) == searched


def test_augment_keys_override_the_default_policy_one_by_one():
    default = {"random_crop_padding": 4, "horizontal_flip": True}
    params = HParams.from_dict(
        {"augment": {"cutout": 6, "horizontal_flip": False}}, augment=default
    )
    assert params.augment == Augment(random_crop_padding=4, horizontal_flip=False, cutout=6)
    assert HParams.from_dict({}, augment=Augment(cutout=2)).augment == Augment(cutout=2)
    assert HParams.from_dict({"augment": {"cutout": 6}}).augment == Augment(cutout=6)
    assert isinstance(
        HParams.from_dict({"augment": {"color_jitter": 0}}).augment.color_jitter, float
    )


def test_integers_for_float_fields_become_floats():
    params = HParams.from_dict({"lr": 1, "weight_decay": 0})
    assert isinstance(params.lr, float) and isinstance(params.weight_decay, float)
    assert params.to_dict()["lr"] == 1.0


# (mapping, substrings the message must contain besides the source)
HPARAM_ERRORS = [
    pytest.param(
        {"optimzer": "adam"}, ["unknown key(s): 'optimzer'", "known: optimizer"], id="unknown-key"
    ),
    pytest.param(
        {"optimizer": "adagrad"},
        ["optimizer:", "'adagrad'", "adam, adamw, sgd, rmsprop"],
        id="unknown-optimizer",
    ),
    pytest.param({"alpha": 1.0}, ["alpha:", "must be < 1.0"], id="alpha-one"),
    pytest.param({"img_size": 0}, ["img_size:", "must be >= 1"], id="zero-img-size"),
    pytest.param({"img_size": 16.0}, ["img_size:", "expected an integer"], id="float-img-size"),
    pytest.param(
        {"augment": {"cutout": -1}}, ["augment: cutout:", "must be >= 0"], id="augment-value"
    ),
    pytest.param(
        {"augment": {"rotate": 10}}, ["augment: unknown key(s): 'rotate'"], id="augment-key"
    ),
    pytest.param(
        {"augment": "flip"}, ["augment: expected a mapping of random_crop_padding"], id="aug-str"
    ),
    pytest.param(
        {"schedule": "linear"}, ["schedule:", "none, cosine, step, onecycle"], id="unknown-schedule"
    ),
    pytest.param({"lr": 0}, ["lr:", "must be > 0"], id="zero-lr"),
    pytest.param({"lr": "1e-3"}, ["lr:", "expected a number", "1.0e-3"], id="string-lr"),
    pytest.param({"lr": float("nan")}, ["lr:", "finite"], id="nan-lr"),
    pytest.param({"momentum": 1.0}, ["momentum:", "must be < 1.0"], id="momentum-one"),
    pytest.param({"weight_decay": -0.1}, ["weight_decay:", ">= 0"], id="negative-decay"),
    pytest.param({"batch_size": 0}, ["batch_size:", "must be >= 1"], id="zero-batch"),
    pytest.param({"batch_size": 32.0}, ["batch_size:", "expected an integer"], id="float-batch"),
    pytest.param({"epochs": True}, ["epochs:", "expected an integer", "True"], id="bool-epochs"),
    pytest.param({"label_smoothing": 1}, ["label_smoothing:", "< 1.0"], id="smoothing-one"),
    pytest.param({"nesterov": "yes"}, ["nesterov:", "true or false"], id="string-bool"),
    pytest.param(
        {"nesterov": True}, ["nesterov:", "optimizer 'sgd'", "'adamw'"], id="nesterov-adamw"
    ),
    pytest.param(
        {"optimizer": "sgd", "nesterov": True, "momentum": 0.0},
        ["nesterov:", "momentum > 0"],
        id="nesterov-no-momentum",
    ),
]


@pytest.mark.parametrize(("data", "expected"), HPARAM_ERRORS)
def test_hparams_errors_name_source_and_key(data, expected):
    with pytest.raises(ConfigError) as info:
        HParams.from_dict(data, "config.yaml: train")
    message = str(info.value)
    assert message.startswith("config.yaml: train: ")
    for part in expected:
        assert part in message


def test_hparams_constructor_validates_too():
    with pytest.raises(ConfigError, match=r"^HParams: epochs: 0 must be >= 1"):
        HParams(epochs=0)


def test_hparams_from_non_mapping():
    with pytest.raises(ConfigError, match="hparams: expected a mapping, got list"):
        HParams.from_dict([1, 2])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"random_crop_padding": -1}, "random_crop_padding: -1 must be >= 0"),
        ({"horizontal_flip": 1}, "horizontal_flip: expected true or false"),
        ({"rotate": 10}, "unknown key(s): 'rotate'"),
        ({"color_jitter": 1.0}, "color_jitter: 1.0 must be < 1.0"),
        ({"cutout": 2.5}, "cutout: expected an integer"),
    ],
)
def test_augment_errors(data, expected):
    with pytest.raises(ConfigError) as info:
        Augment.from_dict(data, "config.yaml: augment")
    assert str(info.value).startswith("config.yaml: augment: ")
    assert expected in str(info.value)
