"""A finalist's int8 twin: ONNX Runtime static quantization of its exported ``model.onnx``.

QDQ format (the one ONNX Runtime's CPU kernels are optimized for), int8 weights per output
channel, uint8 activations whose ranges come from a calibration set of training images
(MinMax), as ONNX Runtime advises for x86 CPUs. The twin is tested on the same test split as
the float model, so the report can set accuracy, size and latency side by side. As with
export, a missing package or a model the quantizer cannot handle gives a *skipped* record
with the reason, never a failed finalist; the file is written atomically.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

_logger = logging.getLogger(__name__)

INT8_NAME = "model.int8.onnx"
CALIBRATION_IMAGES = 256
METHOD = (
    "ONNX Runtime static quantization: QDQ, int8 weights per channel, uint8 activations, "
    "MinMax calibration on {n} training images"
)


class _QuantizerNotices(logging.Filter):
    """Drops the quantizer's per-channel INFO notices (one line per channel whose scale it
    widened), which it logs on the root logger; its warnings pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or "onnxruntime" not in record.pathname


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    root, notices = logging.getLogger(), _QuantizerNotices()
    root.addFilter(notices)
    try:
        yield
    finally:
        root.removeFilter(notices)


class _Calibration:
    """onnxruntime's CalibrationDataReader protocol over a float batch, 32 images at a time."""

    def __init__(self, name: str, images: np.ndarray) -> None:
        self._batches = iter([{name: images[i : i + 32]} for i in range(0, len(images), 32)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def quantize_int8(
    float_onnx: str | os.PathLike, out: str | os.PathLike, calibration: np.ndarray
) -> None:
    """Write the int8 twin of ``float_onnx`` at ``out`` (atomically), calibrated on the
    normalized float images ``calibration`` (N x C x H x W). Raises what the quantizer raises."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from paretonas.runtimes import ort_session

    out = Path(out)
    name = ort_session(float_onnx).get_inputs()[0].name
    with (
        tempfile.TemporaryDirectory(prefix=".int8-", dir=out.parent) as scratch,
        _quiet_quantizer(),
    ):
        prepared, written = Path(scratch) / "prepared.onnx", Path(scratch) / "int8.onnx"
        quant_pre_process(str(float_onnx), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(written),
            _Calibration(name, calibration.astype(np.float32)),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        os.replace(written, out)


def int8_predictions(path: str | os.PathLike, images: np.ndarray) -> np.ndarray:
    """Class predictions of the ONNX model at ``path`` on normalized float ``images``."""
    from paretonas.runtimes import ort_session

    session = ort_session(path)
    name = session.get_inputs()[0].name
    out = [
        np.asarray(session.run(None, {name: images[i : i + 256]})[0]).argmax(axis=1)
        for i in range(0, len(images), 256)
    ]
    return np.concatenate(out)


def quantize_finalist(
    out_dir: str | os.PathLike,
    calibration: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
) -> dict[str, Any]:
    """The int8 twin of ``out_dir/model.onnx``: written beside it, tested on ``test_images``
    (normalized float) against ``test_labels``. Returns the record metrics.json keeps under
    ``int8``: file, bytes (and the float model's), test accuracy and macro-F1, or why it was
    skipped."""
    from paretonas.export import INSTALL_HINT, ONNX_NAME, first_line
    from paretonas.training import macro_f1

    out_dir = Path(out_dir)
    float_onnx, path = out_dir / ONNX_NAME, out_dir / INT8_NAME
    record: dict[str, Any] = {"format": "int8", "method": METHOD.format(n=len(calibration))}
    if not float_onnx.is_file():
        return _skipped(record, f"int8 quantization skipped: no {float_onnx} (the ONNX export "
                        f"was skipped or finalize.export is false)")  # fmt: skip
    try:
        import onnxruntime.quantization  # noqa: F401
    except ImportError:
        return _skipped(record, f"int8 quantization skipped: onnxruntime is not installed "
                        f"({INSTALL_HINT})")  # fmt: skip
    try:
        quantize_int8(float_onnx, path, calibration)
        predictions = int8_predictions(path, test_images)
    except Exception as exc:  # the quantizer's own errors vary by model: a skip, with why
        path.unlink(missing_ok=True)
        return _skipped(record, f"int8 quantization skipped: {first_line(exc)}")
    record.update(
        path=str(path),
        bytes=path.stat().st_size,
        float_bytes=float_onnx.stat().st_size,
        test_accuracy=float(np.mean(predictions == test_labels)),
        test_f1_macro=float(macro_f1(test_labels, predictions)),
        skipped=None,
    )
    _logger.info(
        "int8 twin %s: test accuracy %.4f, %d bytes (float %d)",
        path,
        record["test_accuracy"],
        record["bytes"],
        record["float_bytes"],
    )
    return record


def _skipped(record: dict[str, Any], reason: str) -> dict[str, Any]:
    _logger.warning("%s", reason)
    return {**record, "path": None, "skipped": reason}
