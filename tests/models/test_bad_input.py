"""Every kind of bad model YAML: one ModelConfigError naming the file, the row and the key."""

from __future__ import annotations

import pytest

from paretonas.errors import ModelConfigError
from paretonas.models import ModelSpec, build_model

HEAD = "input_channel: 1\ndepth_multiple: 1.0\nwidth_multiple: 1.0\n"


def rows(*lines: str) -> str:
    return HEAD + "backbone:\n" + "".join(f"  - {line}\n" for line in lines)


# (yaml text, substrings the message must contain). Row errors name backbone[i], the line
# and the key.
LOAD_ERRORS = [
    pytest.param(
        rows("[1, Conv, [8]]", "[1, Conv2d, [8]]"),
        [
            "backbone[1] (line 6)",
            "module",
            "unknown module 'Conv2d'",
            "did you mean 'Conv'",
            "known: AvgPool, Bottleneck",
        ],
        id="unknown-module",
    ),
    pytest.param(
        rows("[1, Conv, [8, 3, 1, null, 1, ReLU, 7]]"),
        ["backbone[0] (line 5): Conv", "takes at most 6 args"],
        id="too-many-args",
    ),
    pytest.param(
        rows("[1, InvertedResidualv2, [16, 6]]"),
        ["backbone[0]", "stride", "missing required argument"],
        id="missing-arg",
    ),
    pytest.param(
        rows("[1, Conv, [eight]]"),
        ["backbone[0]", "out_channels", "expected a positive integer", "'eight'"],
        id="wrong-type",
    ),
    pytest.param(
        rows("[1, Conv, [16.0]]"),
        ["out_channels", "expected a positive integer", "16.0"],
        id="float-channels",
    ),
    pytest.param(rows("[1, Conv, [true]]"), ["out_channels", "True"], id="bool-channels"),
    pytest.param(
        rows("[1, Conv, [0]]"), ["out_channels", "positive integer, got 0"], id="zero-channels"
    ),
    pytest.param(rows("[1, Conv, [8, -3]]"), ["kernel_size", "got -3"], id="negative-kernel"),
    pytest.param(rows("[1, Conv, [8, 3, 0]]"), ["stride", "got 0"], id="zero-stride"),
    pytest.param(
        rows("[1, InvertedResidualv3, [3, 2, 16, 0, 0, 3]]"),
        ["stride", "must be one of [1, 2]"],
        id="illegal-ir-stride",
    ),
    pytest.param(
        rows("[1, Conv, [8, 3, 1, null, 1, Mish]]"),
        ["activation", "unknown activation 'Mish'", "known: ReLU, ReLU6"],
        id="unknown-activation",
    ),
    pytest.param(rows("[0, Conv, [8]]"), ["backbone[0]", "repeat", "got 0"], id="repeat-0"),
    pytest.param(
        rows("[1, Conv, {out_channels: 8, kernel: 3}]"),
        ["backbone[0]", "kernel", "unknown argument", "[out_channels, kernel_size=1"],
        id="unknown-named-arg",
    ),
    pytest.param(
        rows("[1, Conv]"), ["backbone[0]", "expected a row [repeat, module, args]"], id="short-row"
    ),
    pytest.param(
        rows("[1, Conv, 8]"), ["backbone[0]", "args", "list or a mapping"], id="scalar-args"
    ),
    pytest.param(rows("[1, Dropout, [1.5]]"), ["p", "probability"], id="bad-probability"),
    pytest.param(HEAD, ["missing top-level key(s): backbone"], id="missing-backbone"),
    pytest.param(
        "depth_multiple: 1.0\nwidth_multiple: 1.0\nbackbone: [[1, Pass, []]]\n",
        ["missing top-level key(s): input_channel"],
        id="missing-input-channel",
    ),
    pytest.param(
        rows("[1, Conv, [8]]") + "head: []\n",
        ["unknown top-level key(s): 'head'"],
        id="unknown-top-level",
    ),
    pytest.param(
        HEAD.replace("1.0\nwidth", "-1\nwidth") + "backbone: [[1, Pass, []]]\n",
        ["depth_multiple", "positive number", "-1"],
        id="negative-depth",
    ),
    pytest.param(HEAD + "backbone: []\n", ["backbone", "non-empty list"], id="empty-backbone"),
    pytest.param("- 1\n- 2\n", ["top level must be a mapping"], id="not-a-mapping"),
    pytest.param(HEAD + "backbone: [[1, Conv, [8]]\n", ["not valid YAML", "line"], id="not-yaml"),
    pytest.param(
        HEAD + "input_channel: 3\nbackbone: [[1, Pass, []]]\n",
        ["duplicate key 'input_channel'"],
        id="duplicate-key",
    ),
]


@pytest.mark.parametrize(("text", "expected"), LOAD_ERRORS)
def test_load_errors(write_yaml, text, expected):
    path = write_yaml(text)
    with pytest.raises(ModelConfigError) as info:
        ModelSpec.from_yaml(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


BUILD_ERRORS = [
    pytest.param(
        rows("[1, Conv, [8, 3, 2]]", "[4, MaxPool, [2]]"),
        8,
        ["backbone[1] (line 6): MaxPool", "input size 8x8"],
        id="shrinks-below-1x1",
    ),
    pytest.param(
        rows("[1, Conv, [8, 3, 2]]", "[1, Conv, [8, 3, 2]]", "[1, AvgPool, [4]]"),
        8,
        ["backbone[2]", "AvgPool", "(1, 8, 2, 2)"],
        id="pool-bigger-than-map",
    ),
    pytest.param(
        rows("[1, Conv, [8]]", "[1, Linear, [10]]"),
        8,
        ["backbone[1] (line 6): Linear", "N x F (flattened)", "add GlobalAvgPool"],
        id="linear-before-flatten",
    ),
    pytest.param(
        rows("[1, Conv, [8]]", "[1, Flatten, []]", "[1, Conv, [8]]"),
        8,
        ["backbone[2]", "Conv", "needs a N x C x H x W input"],
        id="conv-after-flatten",
    ),
    pytest.param(
        rows("[1, Conv, [24, 3, 1, null, 5]]"),
        8,
        ["backbone[0]", "groups", "must divide"],
        id="bad-groups",
    ),
    pytest.param(
        rows("[1, MaxPool, [3, 1, 2]]"), 8, ["backbone[0]", "padding", "at most"], id="pool-padding"
    ),
    pytest.param(
        rows("[1, Conv, [8, 9, 1, 0]]"),
        4,
        ["backbone[0]", "input size 4x4"],
        id="kernel-bigger-than-input",
    ),
]


@pytest.mark.parametrize(("text", "size", "expected"), BUILD_ERRORS)
def test_build_errors(write_yaml, text, size, expected):
    path = write_yaml(text)
    spec = ModelSpec.from_yaml(path)
    with pytest.raises(ModelConfigError) as info:
        build_model(spec, size)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_python_tag_is_refused_and_nothing_runs(write_yaml, tmp_path):
    sentinel = tmp_path / "executed"
    path = write_yaml(
        f'input_channel: !!python/object/apply:os.system ["touch {sentinel}"]\n'
        "depth_multiple: 1.0\nwidth_multiple: 1.0\nbackbone: [[1, Pass, []]]\n"
    )
    with pytest.raises(ModelConfigError, match="refused") as info:
        ModelSpec.from_yaml(path)
    assert str(path) in str(info.value)
    assert not sentinel.exists()


def test_missing_file():
    with pytest.raises(ModelConfigError, match="no such file"):
        ModelSpec.from_yaml("does/not/exist.yaml")


def test_binary_file_is_not_yaml(write_yaml, tmp_path):
    path = tmp_path / "weights.yaml"
    path.write_bytes(b"\x80\x02\x8a\nlz\xfc\x9cF\xf9 j\xa8P\x19.")
    with pytest.raises(ModelConfigError, match=str(path)):
        ModelSpec.from_yaml(path)
