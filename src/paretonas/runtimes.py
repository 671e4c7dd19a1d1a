"""A built model as one batch-1 call in a deployment runtime: eager torch, TorchScript or
ONNX Runtime, for timing.

TorchScript and ONNX go through ``paretonas.export`` (the files finalize ships, each checked
against the eager model), so a model the exporter cannot convert is skipped with the
exporter's reason, never a crash. Every runtime runs one thread: torch's intra-op pool is
set to 1 by the caller, an ONNX Runtime session gets ``intra_op_num_threads=1`` and
sequential execution.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from paretonas.errors import ParetonasError

if TYPE_CHECKING:  # torch loads where a model is run, not where RUNTIMES is read
    from torch import nn

RUNTIMES = ("torch", "torchscript", "onnxruntime")
Call = Callable[[], object]


class RuntimeSkipped(Exception):
    """The model cannot run in the runtime (export skipped or failed); the reason is str()."""


def ort_session(path: str | os.PathLike) -> object:
    """An ONNX Runtime CPU session on one thread (all graph optimizations on, as deployed)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no per-session notices in the step's log
    return onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def onnx_call(path: str | os.PathLike, input_shape: tuple[int, ...]) -> Call:
    """One batch-1 inference of the ONNX file at ``path`` in ONNX Runtime."""
    session = ort_session(path)
    feed = {session.get_inputs()[0].name: np.zeros((1, *input_shape), dtype=np.float32)}

    def call() -> object:
        return session.run(None, feed)

    return call


def torchscript_call(path: str | os.PathLike, input_shape: tuple[int, ...]) -> Call:
    """One batch-1 forward of the TorchScript file at ``path``."""
    import torch

    loaded = torch.jit.load(str(path), map_location="cpu").eval()
    x = torch.zeros(1, *input_shape)

    def call() -> object:
        with torch.inference_mode():
            return loaded(x)

    return call


def eager_call(model: nn.Module, input_shape: tuple[int, ...]) -> Call:
    """One batch-1 forward of ``model`` in eval mode (eager PyTorch)."""
    import torch

    model.eval()
    x = torch.zeros(1, *input_shape)

    def call() -> object:
        with torch.inference_mode():
            return model(x)

    return call


def model_call(
    model: nn.Module, input_shape: tuple[int, ...], runtime: str, workdir: str | os.PathLike
) -> Call:
    """``model`` as a batch-1 call in ``runtime``; TorchScript and ONNX files are exported
    into ``workdir`` (under a fresh name). Raises RuntimeSkipped with the reason when the
    model cannot be exported or the exported file does not match the model."""
    if runtime == "torch":
        return eager_call(model, input_shape)
    import torch

    from paretonas.export import export_onnx, export_torchscript

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(1, *input_shape)
    name = f"{len(list(workdir.iterdir()))}"
    try:
        if runtime == "torchscript":
            result = export_torchscript(model, example, workdir / f"{name}.ts")
            opener = torchscript_call
        elif runtime == "onnxruntime":
            result = export_onnx(model, example, workdir / f"{name}.onnx")
            opener = onnx_call
        else:
            raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    except ParetonasError as exc:  # an invalid or deviating export: this model is skipped
        raise RuntimeSkipped(str(exc)) from exc
    if result.skipped:
        raise RuntimeSkipped(result.skipped)
    return opener(result.path, input_shape)


def library_version(runtime: str) -> str:
    """The version of the library that runs ``runtime`` (a baseline holds only within one)."""
    if runtime == "onnxruntime":
        import onnxruntime

        return f"onnxruntime {onnxruntime.__version__}"
    import torch

    return f"torch {torch.__version__}"
