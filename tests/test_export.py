"""Export: TorchScript and ONNX round trips for every block, dynamic batch, skips, atomicity."""

from __future__ import annotations

import logging
import sys
import warnings

import numpy as np
import onnxruntime
import pytest
import torch
from torch import nn

from paretonas import export as export_module
from paretonas.errors import ParetonasError
from paretonas.export import (
    ExportError,
    ExportResult,
    export_all,
    export_onnx,
    export_torchscript,
)
from paretonas.models import ModelSpec, build_model, list_blocks
from tests.conftest import MODELS_DIR

ATOL = 1e-4

# (model YAML, input size or None for the YAML's own)
ZOO_CASES = [
    ("mobilenet_v3_small.yaml", 64),
    ("squeezenet_tiny_32.yaml", None),
    ("digits_cnn.yaml", None),
    ("lenet_28.yaml", None),
    ("mobilenet_tiny_32.yaml", None),
]

# Every registered block at least once, Pass and AvgPool included (no zoo model has Pass).
ALL_BLOCKS_YAML = """\
input_channel: 3
depth_multiple: 1.0
width_multiple: 1.0
input_size: [16, 16]
backbone:
  - [1, Conv, [8, 3, 1]]
  - [1, DWConv, [16, 3, 2]]
  - [1, Bottleneck, [16]]
  - [1, InvertedResidualv2, [16, 2, 1]]
  - [1, InvertedResidualv3, [3, 2, 16, 1, 1, 1]]
  - [1, Fire, [8, 8, 8]]
  - [1, MaxPool, [2]]
  - [1, AvgPool, [2]]
  - [1, Pass, []]
  - [1, GlobalAvgPool, []]
  - [1, Flatten, []]
  - [1, Dropout, [0.1]]
  - [1, Linear, [16, ReLU]]
  - [1, Linear, [5]]
"""


def _spec(case: str) -> ModelSpec:
    if case == "all_blocks":
        return ModelSpec.from_text(ALL_BLOCKS_YAML, "<all_blocks>")
    return ModelSpec.from_yaml(MODELS_DIR / case)


def _trained_looking(model: nn.Module) -> nn.Module:
    """Give BatchNorm non-trivial statistics so that an export that mishandles them shows."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            size = module.num_features
            module.running_mean.copy_(torch.randn(size, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
            with torch.no_grad():
                module.weight.copy_(torch.rand(size, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(size, generator=generator) * 0.1)
    return model


def _model(case: str = "digits_cnn.yaml", size: int | None = None) -> nn.Module:
    torch.manual_seed(0)
    return _trained_looking(build_model(_spec(case), size))


def _batch(model: nn.Module, n: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, *model.input_shape, generator=generator)


def _torch_out(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    training = model.training
    model.eval()
    with torch.no_grad():
        out = model(x).numpy()
    model.train(training)
    return out


def _onnx_out(path, x: torch.Tensor) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


def _torchscript_out(path, x: torch.Tensor) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loaded = torch.jit.load(str(path))
    with torch.no_grad():
        return loaded(x).numpy()


def test_the_round_trip_cases_cover_every_registered_block():
    used = {row.module for case, _ in ZOO_CASES for row in _spec(case).backbone}
    used |= {row.module for row in _spec("all_blocks").backbone}
    assert set(list_blocks()) <= used


@pytest.mark.parametrize(("case", "size"), [*ZOO_CASES, ("all_blocks", None)])
def test_round_trip_within_atol_and_dynamic_batch(tmp_path, case, size):
    model = _model(case, size)
    model.train()
    example = _batch(model, 4)

    results = export_all(model, example, tmp_path)

    assert model.training and all(m.training for m in model.modules())  # mode restored
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "model.ts"]
    for fmt, result in results.items():
        assert result.format == fmt and result.skipped is None
        assert result.max_abs_diff is not None and result.max_abs_diff <= ATOL
    assert results["torchscript"].path == tmp_path / "model.ts"
    assert results["onnx"].path == tmp_path / "model.onnx"

    # a batch of another size runs in both runtimes and matches the eager model
    batch7 = _batch(model, 7, seed=1)
    want = _torch_out(model, batch7)
    onnx_out = _onnx_out(tmp_path / "model.onnx", batch7)
    torchscript_out = _torchscript_out(tmp_path / "model.ts", batch7)
    for got in (onnx_out, torchscript_out):
        assert got.shape == want.shape == (7, *model.output_shape)
        np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)


def test_onnx_checks_on_check_batch_of_another_size(tmp_path):
    model = _model()
    result = export_onnx(model, _batch(model, 1), tmp_path / "m.onnx", check_batch=_batch(model, 7))
    assert result.skipped is None and result.max_abs_diff <= ATOL


def test_legacy_exporter_is_the_fallback_without_onnxscript(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # makes `import onnxscript` fail
    model = _model("mobilenet_tiny_32.yaml")
    with caplog.at_level(logging.WARNING, logger="paretonas.export"):
        result = export_onnx(model, _batch(model, 4), tmp_path / "model.onnx")
    assert result.skipped is None and result.max_abs_diff <= ATOL
    assert "falling back to the legacy" in caplog.text and "onnxscript" in caplog.text
    batch7 = _batch(model, 7, seed=1)
    got = _onnx_out(tmp_path / "model.onnx", batch7)
    np.testing.assert_allclose(got, _torch_out(model, batch7), rtol=0, atol=ATOL)


@pytest.mark.parametrize("package", ["onnx", "onnxruntime"])
def test_onnx_is_skipped_with_the_reason_when_a_package_is_missing(
    tmp_path, monkeypatch, caplog, package
):
    monkeypatch.setitem(sys.modules, package, None)
    model = _model()
    with caplog.at_level(logging.WARNING, logger="paretonas.export"):
        result = export_onnx(model, _batch(model, 2), tmp_path / "model.onnx")
    reason = f"onnx export skipped: {package} is not installed (pip install -e '.[export]')"
    assert result == ExportResult(format="onnx", path=None, skipped=reason, max_abs_diff=None)
    assert reason in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_export_all_still_writes_torchscript_when_onnx_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    model = _model()
    results = export_all(model, _batch(model, 2), tmp_path / "out")
    assert results["onnx"].skipped and results["torchscript"].skipped is None
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["model.ts"]
    assert results["onnx"].to_dict() == {
        "format": "onnx",
        "path": None,
        "skipped": results["onnx"].skipped,
        "max_abs_diff": None,
    }
    assert results["torchscript"].to_dict()["path"] == str(tmp_path / "out" / "model.ts")


def test_torchscript_is_skipped_when_torch_jit_fails(tmp_path, monkeypatch, caplog):
    def broken_trace(*args, **kwargs):
        raise RuntimeError("tracing is not supported here")

    monkeypatch.setattr(torch.jit, "trace", broken_trace)
    model = _model()
    with caplog.at_level(logging.WARNING, logger="paretonas.export"):
        result = export_torchscript(model, _batch(model, 2), tmp_path / "model.ts")
    assert result.path is None and result.max_abs_diff is None
    assert "tracing is not supported here" in result.skipped and result.skipped in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_torchscript_is_skipped_when_torch_jit_is_gone(tmp_path, monkeypatch):
    monkeypatch.delattr(torch.jit, "trace")
    model = _model()
    result = export_torchscript(model, _batch(model, 2), tmp_path / "model.ts")
    assert result.skipped and "torch.jit" in result.skipped
    assert list(tmp_path.iterdir()) == []


class _SignDependent(nn.Module):
    """Data-dependent control flow: a trace records only the branch the example takes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.sum() > 0 else -x


@pytest.mark.parametrize("exporter", [export_torchscript, export_onnx])
def test_outputs_that_differ_raise_export_error_and_keep_the_old_file(tmp_path, caplog, exporter):
    path = tmp_path / "model.bin"
    path.write_bytes(b"previous export")
    example = torch.ones(2, 3, 4, 4)  # sum > 0: the trace keeps `x`
    check = -torch.ones(3, 3, 4, 4)  # the eager model returns `-check`, the trace `check`
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="paretonas.export"):
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        with pytest.raises(ExportError, match=r"max abs diff 2 > atol 0\.0001") as info:
            exporter(_SignDependent(), example, path, check_batch=check)
    assert isinstance(info.value, ParetonasError)
    if exporter is export_onnx:  # torch.export refuses the branch; the legacy trace takes one
        assert "falling back to the legacy" in caplog.text and "caused by" in caplog.text
    assert path.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["model.bin"]


def test_onnx_partial_write_then_exporter_error_leaves_no_temp_file(tmp_path, monkeypatch):
    def half_written(model, example, tmp, opset):
        tmp.write_bytes(b"\x08\x07half")
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(export_module, "_export_onnx_dynamo", half_written)
    monkeypatch.setattr(export_module, "_export_onnx_legacy", half_written)
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous export")
    model = _model()
    result = export_onnx(model, _batch(model, 2), path)
    assert result.path is None and "exporter crashed" in result.skipped
    assert "dynamo exporter" in result.skipped and "legacy exporter" in result.skipped
    assert path.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_invalid_onnx_file_raises_and_leaves_nothing(tmp_path, monkeypatch):
    def garbage(model, example, tmp, opset):
        tmp.write_bytes(b"not an onnx model")

    monkeypatch.setattr(export_module, "_export_onnx_dynamo", garbage)
    model = _model()
    with pytest.raises(ExportError, match="onnx checker rejects"):
        export_onnx(model, _batch(model, 2), tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_unloadable_torchscript_raises_and_leaves_nothing(tmp_path, monkeypatch):
    def broken_load(*args, **kwargs):
        raise RuntimeError("archive is corrupt")

    monkeypatch.setattr(torch.jit, "load", broken_load)
    model = _model()
    with pytest.raises(ExportError, match="cannot be loaded and run: RuntimeError: archive"):
        export_torchscript(model, _batch(model, 2), tmp_path / "model.ts")
    assert list(tmp_path.iterdir()) == []


def test_mixed_training_modes_are_restored_exactly(tmp_path):
    model = _model()
    model.train()
    model[0].eval()  # e.g. a frozen stem
    modes = [m.training for m in model.modules()]
    export_torchscript(model, _batch(model, 2), tmp_path / "model.ts")
    assert [m.training for m in model.modules()] == modes


@pytest.mark.parametrize(
    ("example", "check", "message"),
    [
        (torch.zeros(2, 1, 8, 8, dtype=torch.int64), None, "must be a non-empty float batch"),
        (torch.zeros(0, 1, 8, 8), None, "must be a non-empty float batch"),
        (torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 9, 9), "does not match example shape"),
    ],
)
def test_bad_inputs_are_refused_with_the_values(tmp_path, example, check, message):
    model = _model()
    for exporter in (export_torchscript, export_onnx):
        with pytest.raises(ExportError, match=message):
            exporter(model, example, tmp_path / "model", check_batch=check)
    assert list(tmp_path.iterdir()) == []
