"""int8 twins: ONNX Runtime static quantization (QDQ, per channel) of the zoo's exported models,
and a skip with the reason where there is nothing to quantize."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from paretonas.export import export_onnx
from paretonas.models import ModelSpec, build_model
from paretonas.quantize import INT8_NAME, int8_predictions, quantize_finalist
from tests.conftest import MODELS_DIR

# every registered block but Pass: Conv, DWConv, Bottleneck, InvertedResidual v2 and v3 (SE,
# hard-swish), Fire, Max/Avg/GlobalAvgPool, Dropout, Flatten, Linear
ZOO = ["digits_cnn", "lenet_28", "mobilenet_tiny_32", "squeezenet_tiny_32", "mobilenet_v3_small"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO)
def test_every_zoo_block_quantizes_in_onnxruntime(tmp_path, name):
    torch.manual_seed(0)
    model = build_model(ModelSpec.from_yaml(MODELS_DIR / f"{name}.yaml")).eval()
    images = torch.randn(96, *model.input_shape)
    assert export_onnx(model, images[:1], tmp_path / "model.onnx").skipped is None
    with torch.no_grad():
        labels = model(images[64:]).argmax(1).numpy()  # the float model's own answers
    record = quantize_finalist(tmp_path, images[:64].numpy(), images[64:].numpy(), labels)
    assert record["skipped"] is None, record
    assert (tmp_path / INT8_NAME).stat().st_size == record["bytes"] < record["float_bytes"]
    assert record["test_accuracy"] >= 0.8  # agreement with the float model
    twin = int8_predictions(tmp_path / INT8_NAME, images[64:].numpy())
    assert twin.shape == labels.shape
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no scratch


def test_without_an_onnx_export_the_twin_is_skipped_with_the_reason(tmp_path):
    images = np.zeros((4, 1, 8, 8), dtype=np.float32)
    record = quantize_finalist(tmp_path, images, images, np.zeros(4, dtype=np.int64))
    assert record["path"] is None and not (tmp_path / INT8_NAME).exists()
    assert record["skipped"].startswith("int8 quantization skipped: no ")
    assert "model.onnx" in record["skipped"]
