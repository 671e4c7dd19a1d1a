"""The zoo: published parity (params exact, MACs within 3%), forward passes, round trips."""

from __future__ import annotations

import pytest
import torch

from paretonas.models import ModelSpec, build_model, count_macs, count_params
from tests.conftest import MODELS_DIR

ZOO = sorted(p.name for p in MODELS_DIR.glob("*.yaml"))

# torchvision's published figures at 224x224.
PARITY = {
    "mobilenet_v2.yaml": (3_504_872, 300.8e6),
    "mobilenet_v3_large.yaml": (5_483_032, 216.6e6),
    "mobilenet_v3_small.yaml": (2_542_856, 56.5e6),
}


def test_zoo_has_the_required_models():
    assert {"show_case.yaml", *PARITY} <= set(ZOO)
    assert len(ZOO) >= 7


@pytest.mark.parametrize("name", sorted(PARITY))
def test_parity_with_torchvision(name):
    params, macs = PARITY[name]
    model = build_model(ModelSpec.from_yaml(MODELS_DIR / name), 224)
    assert count_params(model) == params
    measured = count_macs(model, model.input_shape)
    assert abs(measured / macs - 1) <= 0.03, f"{measured=} vs {macs=}"


@pytest.mark.parametrize("name", ZOO)
def test_zoo_forward_backward(name):
    model = build_model(ModelSpec.from_yaml(MODELS_DIR / name))
    x = torch.randn(2, *model.input_shape)
    y = model(x)
    assert tuple(y.shape) == (2, *model.output_shape)
    assert y.ndim == 2 and torch.isfinite(y).all()
    y.sum().backward()


@pytest.mark.parametrize("name", ZOO)
def test_round_trip_yaml_spec_yaml(name):
    spec = ModelSpec.from_yaml(MODELS_DIR / name)
    text = spec.to_yaml()
    again = ModelSpec.from_text(text, "<round-trip>")
    assert again == spec
    assert again.to_yaml() == text
    a, b = build_model(spec), build_model(again)
    assert count_params(a) == count_params(b)
    assert {k: v.shape for k, v in a.state_dict().items()} == {
        k: v.shape for k, v in b.state_dict().items()
    }


def test_saved_yaml_rebuilds_the_same_model(tmp_path):
    spec = ModelSpec.from_yaml(MODELS_DIR / "mobilenet_tiny_32.yaml")
    path = spec.save(tmp_path / "archived" / "model.yaml")
    assert ModelSpec.from_yaml(path) == spec
    assert not list(path.parent.glob(".*tmp"))  # atomic write left no temp file


def test_show_case_is_the_course_network():
    model = build_model(ModelSpec.from_yaml(MODELS_DIR / "show_case.yaml"))
    assert model.output_shape == (6,)
    assert [layer.module for layer in model.layers[-5:]] == [
        "Conv",
        "GlobalAvgPool",
        "Conv",
        "Flatten",
        "Linear",
    ]
