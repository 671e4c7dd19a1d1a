"""The finalists as shipped, timed: each finalist's float model in ``profile.runtime`` and its
int8 twin in ONNX Runtime, interleaved with the reference network on a quiet machine, as the
profile step times the front (``paretonas.profile.time_in_runtime``: the same CPU choice and
machine baseline). A step of its own after finalize, so no training runs beside it."""

from __future__ import annotations

import functools
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretonas.profile import time_in_runtime, warn_if_busy, write_rows

if TYPE_CHECKING:
    from paretonas.runtimes import Call

_logger = logging.getLogger(__name__)

FINALIST_COLUMNS = (
    "rank",
    "trial",
    "format",
    "runtime",
    "latency_ms",
    "measured_ms",
    "low_ms",
    "high_ms",
    "bytes",
    "file",
)


def profile_finalists(
    finalist_metrics: list[str | os.PathLike],
    latency_csv: str | os.PathLike,
    *,
    runtime: str = "torch",
    rounds: int = 150,
    baseline: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Time each finalist's shipped float model in ``runtime`` and its int8 twin
    (``model.int8.onnx``, ONNX Runtime), interleaved with the reference network as
    ``profile_front`` does; a row per model in ``latency_csv``. Empty slots and files that
    were not written (an export or quantization skipped) get no row; the record lists them."""
    rows, entries, missing = [], [], []
    for path in finalist_metrics:
        metrics = json.loads(Path(path).read_text(encoding="utf-8"))
        if metrics.get("trial") is None:
            continue
        folder = Path(path).parent
        for fmt, file, in_runtime in _finalist_files(folder, runtime):
            key = f"{metrics['rank']}/{fmt}"
            if not file.is_file():
                missing.append({"model": key, "reason": f"{file} was not written"})
                continue
            rows.append(
                {
                    "rank": metrics["rank"],
                    "trial": metrics["trial"],
                    "format": fmt,
                    "runtime": in_runtime,
                    "bytes": file.stat().st_size,
                    "file": str(file),
                }
            )
            entries.append((key, functools.partial(_file_call, file, in_runtime)))
    timed, record = time_in_runtime(entries, runtime, rounds, baseline)
    kept = []
    for row in rows:
        latency = timed.get(f"{row['rank']}/{row['format']}")
        if latency is not None:
            row.update(
                latency_ms=round(latency.ms * record["scale"], 5),
                measured_ms=latency.ms,
                low_ms=latency.low_ms,
                high_ms=latency.high_ms,
            )
            kept.append(row)
    write_rows(latency_csv, kept, FINALIST_COLUMNS)
    record["skipped"] = missing + record["skipped"]
    warn_if_busy(record)
    _logger.info("profiled %d finalist model(s) in %s on CPU %s", len(kept), runtime,
                 record["pinned_cpu"])  # fmt: skip
    return record


def _finalist_files(folder: Path, runtime: str) -> list[tuple[str, Path, str]]:
    """(format, file, runtime) of what a finalist ships: the float model in ``runtime``
    (weights.pt for eager torch), its int8 twin in ONNX Runtime when one was made."""
    from paretonas.export import ONNX_NAME, TORCHSCRIPT_NAME
    from paretonas.quantize import INT8_NAME

    float_file = {"torch": "weights.pt", "torchscript": TORCHSCRIPT_NAME}.get(runtime, ONNX_NAME)
    files = [("float", folder / float_file, runtime)]
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    if metrics.get("int8") is not None:
        files.append(("int8", folder / INT8_NAME, "onnxruntime"))
    return files


def _file_call(file: Path, runtime: str, workdir: Path) -> Call:
    """A batch-1 call of a finalist's shipped file (``workdir`` unused: nothing to export);
    eager torch runs the network of ``model.yaml`` with the weights in ``file``."""
    from paretonas.models import ModelSpec, build_model
    from paretonas.runtimes import eager_call, onnx_call, torchscript_call
    from paretonas.search.archive import load_weights

    if runtime == "onnxruntime":
        return onnx_call(file, _onnx_input_shape(file))
    model = build_model(ModelSpec.from_yaml(file.parent / "model.yaml"))
    if runtime == "torchscript":
        return torchscript_call(file, model.input_shape)
    model.load_state_dict(load_weights(file)["state_dict"])
    return eager_call(model, model.input_shape)


def _onnx_input_shape(file: Path) -> tuple[int, ...]:
    """The (C, H, W) of an ONNX file's input (the batch axis is dynamic)."""
    from paretonas.runtimes import ort_session

    shape = ort_session(file).get_inputs()[0].shape
    return tuple(int(d) for d in shape[1:])
