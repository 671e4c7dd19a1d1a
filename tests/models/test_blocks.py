"""Every registered block builds and runs; scaling and repeat rules hold."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from paretonas.errors import ModelConfigError
from paretonas.models import ModelSpec, build_model, count_params, list_blocks, make_divisible

# One example row per block: (args, input shape C x H x W, expected output shape).
EXAMPLES = {
    "Conv": ([24, 3, 2, None, 1, "Hardswish"], (8, 16, 16), (24, 8, 8)),
    "DWConv": ([32, 3, 1], (16, 16, 16), (32, 16, 16)),
    "Bottleneck": ([16, True, 2, 0.5, "SiLU"], (16, 8, 8), (16, 8, 8)),
    "InvertedResidualv2": ([24, 6, 2], (16, 16, 16), (24, 8, 8)),
    "InvertedResidualv3": ([5, 3, 40, 1, 1, 2], (24, 16, 16), (40, 8, 8)),
    "Fire": ([16, 32, 48], (32, 8, 8), (80, 8, 8)),
    "MaxPool": ([3, 2, 1], (8, 16, 16), (8, 8, 8)),
    "AvgPool": ([2], (8, 16, 16), (8, 8, 8)),
    "GlobalAvgPool": ([], (8, 5, 7), (8, 1, 1)),
    "Flatten": ([], (8, 2, 3), (48,)),
    "Dropout": ([0.1], (8, 4, 4), (8, 4, 4)),
    "Pass": ([], (8, 4, 4), (8, 4, 4)),
}
FLAT_EXAMPLES = {"Linear": ([7, "GELU"], (12,), (7,))}


def _spec(module: str, args, in_shape, repeat: int = 1, width: float = 1.0, depth=1.0):
    channels = in_shape[0]
    rows = [[repeat, module, args]]
    if len(in_shape) == 1:  # feed a flat input: Conv to C x 1 x 1, then Flatten
        rows = [[1, "Conv", [channels, 1]], [1, "Flatten", []], *rows]
        in_shape = (channels, 1, 1)
    data = {
        "input_channel": in_shape[0],
        "depth_multiple": depth,
        "width_multiple": width,
        "input_size": list(in_shape[1:]),
        "backbone": rows,
    }
    return ModelSpec.from_dict(data, "<test>")


def test_every_registered_block_has_an_example():
    assert set(list_blocks()) == set(EXAMPLES) | set(FLAT_EXAMPLES)


@pytest.mark.parametrize("module", sorted({**EXAMPLES, **FLAT_EXAMPLES}))
def test_block_forward_and_backward(module):
    args, in_shape, out_shape = {**EXAMPLES, **FLAT_EXAMPLES}[module]
    model = build_model(_spec(module, args, in_shape))
    assert model.output_shape == out_shape
    x = torch.randn(2, in_shape[0], *((1, 1) if len(in_shape) == 1 else in_shape[1:]))
    x.requires_grad_(True)
    y = model(x)
    assert tuple(y.shape) == (2, *out_shape)
    y.float().sum().backward()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (16, 16),
        (6, 8),
        (12, 16),
        (20, 24),
        (18, 24),
        (184.0, 184),
        (183.99999, 184),
        (32 * 0.75, 24),
        (1280 * 0.35, 448),
        (3.0, 8),
        (100, 104),
        (0.1, 8),
    ],
)
def test_make_divisible_matches_torchvision(value, expected):
    assert make_divisible(value, 8) == expected


@pytest.mark.parametrize(
    ("repeat", "depth", "built"),
    [(1, 0.25, 1), (1, 3.0, 1), (3, 0.33, 1), (4, 0.5, 2), (3, 2.0, 6), (2, 0.1, 1)],
)
def test_depth_multiple_scales_repeats(repeat, depth, built):
    model = build_model(_spec("Conv", [8, 3], (8, 8, 8), repeat=repeat, depth=depth))
    assert model.layers[0].repeat == built
    assert len(model[0]) == built if built > 1 else True


def test_width_multiple_scales_channels_not_classes():
    spec = _spec("Conv", [64, 3], (3, 8, 8), width=0.5)
    assert build_model(spec).output_shape[0] == 32
    flat = _spec("Linear", [10], (64,), width=0.5)
    assert build_model(flat).output_shape == (10,)


def test_stride_applies_to_first_repetition_only():
    model = build_model(_spec("InvertedResidualv2", [16, 6, 2], (16, 32, 32), repeat=3))
    assert model.output_shape == (16, 16, 16)
    residuals = [block.use_residual for block in model[0]]
    assert residuals == [False, True, True]


@pytest.mark.parametrize(
    ("module", "args", "in_shape", "residual"),
    [
        ("InvertedResidualv2", [16, 6, 1], (16, 8, 8), True),
        ("InvertedResidualv2", [24, 6, 1], (16, 8, 8), False),
        ("InvertedResidualv3", [3, 4, 16, 0, 0, 1], (16, 8, 8), True),
        ("InvertedResidualv3", [3, 4, 16, 0, 0, 2], (16, 8, 8), False),
        ("Bottleneck", [16, True], (16, 8, 8), True),
        ("Bottleneck", [16, False], (16, 8, 8), False),
        ("Bottleneck", [32, True], (16, 8, 8), False),
    ],
)
def test_residual_rules(module, args, in_shape, residual):
    assert build_model(_spec(module, args, in_shape))[0].use_residual is residual


def test_inverted_residual_expand_is_skipped_when_not_needed():
    # t == 1 (v2) and expanded == in (v3): no 1x1 expansion, so depthwise comes first.
    v2 = build_model(_spec("InvertedResidualv2", [16, 1, 1], (16, 8, 8)))[0]
    v3 = build_model(_spec("InvertedResidualv3", [3, 1, 16, 0, 0, 1], (16, 8, 8)))[0]
    for block in (v2, v3):
        first_conv = block.block[0][0]
        assert first_conv.groups == first_conv.in_channels == 16


def test_squeeze_excitation_width():
    block = build_model(_spec("InvertedResidualv3", [5, 3, 40, 1, 1, 1], (40, 8, 8)))[0]
    se = block.block[2]
    assert (se.fc1.in_channels, se.fc1.out_channels) == (120, 32)  # make_divisible(120/4, 8)


def test_named_args_build_the_same_network_as_positional():
    positional = _spec("InvertedResidualv3", [5, 3, 40, 1, 1, 2], (24, 16, 16))
    named = _spec(
        "InvertedResidualv3",
        {
            "kernel_size": 5,
            "expand_ratio": 3,
            "out_channels": 40,
            "use_se": True,
            "use_hardswish": True,
            "stride": 2,
        },
        (24, 16, 16),
    )
    a, b = build_model(positional), build_model(named)
    assert {k: v.shape for k, v in a.state_dict().items()} == {
        k: v.shape for k, v in b.state_dict().items()
    }


def test_trailing_positional_args_take_defaults():
    model = build_model(_spec("Conv", [16], (3, 8, 8)))
    args = model.layers[0].args
    assert (args["kernel_size"], args["stride"], args["groups"], args["activation"]) == (
        1,
        1,
        1,
        "ReLU",
    )
    assert count_params(model) == 3 * 16 + 2 * 16


def test_dwconv_groups_is_gcd():
    model = build_model(_spec("DWConv", [24, 3], (16, 8, 8)))
    assert model[0][0].groups == 8


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("relu", nn.ReLU),
        ("RELU6", nn.ReLU6),
        ("HardSwish", nn.Hardswish),
        ("hardsigmoid", nn.Hardsigmoid),
        ("Swish", nn.SiLU),
        ("gelu", nn.GELU),
        ("identity", nn.Identity),
        ("SiLU", nn.SiLU),
    ],
)
def test_activation_names_are_case_insensitive(name, module):
    model = build_model(_spec("Conv", [8, 1, 1, None, 1, name], (3, 4, 4)))
    built = [type(m) for m in model.modules() if isinstance(m, module)]
    assert built, f"{name} did not build a {module.__name__}"
    with pytest.raises(ModelConfigError, match="unknown activation 'swishy'"):
        build_model(_spec("Conv", [8, 1, 1, None, 1, "swishy"], (3, 4, 4)))
