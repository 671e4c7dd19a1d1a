"""Export a built model for deployment: TorchScript (``model.ts``) and ONNX (``model.onnx``).

Each file is written to a temp file beside ``path``, read back (``torch.jit.load``; onnx
checker + onnxruntime), compared with the eager model on a check batch, and only then renamed
onto ``path``: a failure leaves no temp file and keeps any previous file. A missing package or
an exporter that cannot convert the model gives a *skipped* result with the reason (logged),
since deployment formats must not abort a search or a training run; an invalid file or outputs
beyond ``atol`` raise :class:`ExportError`, since a wrong artifact must never pass silently.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn

from paretonas.errors import ParetonasError

_logger = logging.getLogger(__name__)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

TORCHSCRIPT_NAME = "model.ts"
ONNX_NAME = "model.onnx"
DEFAULT_ATOL = 1e-4
INSTALL_HINT = "pip install -e '.[export]'"
INPUT_NAME = "input"
OUTPUT_NAME = "output"


class ExportError(ParetonasError):
    """An exported model is invalid or its outputs differ from the PyTorch model's."""


class _ExporterFailed(Exception):
    """Internal: the exporter could not convert the model; becomes a skipped result."""


@dataclass(frozen=True)
class ExportResult:
    """What one export produced: the file, or why it was skipped, and the checked deviation."""

    format: str
    path: Path | None
    skipped: str | None
    max_abs_diff: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-ready data (the path as a string)."""
        return {
            "format": self.format,
            "path": None if self.path is None else str(self.path),
            "skipped": self.skipped,
            "max_abs_diff": self.max_abs_diff,
        }


# -- shared helpers ----------------------------------------------------------------------------
@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every submodule in eval mode; restore each one's own flag afterwards."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


# (message regex, category, module regex): the notices torch 2.13 emits for the APIs used
# here; the last one comes from inside torch.export's pytree code, not from a call made here.
_TORCH_DEPRECATIONS = (
    (r"`torch\.jit\.\w+` is deprecated", DeprecationWarning, ""),
    (r"You are using the legacy TorchScript-based ONNX export", DeprecationWarning, ""),
    (r"The feature will be removed", DeprecationWarning, r"torch\.onnx\."),
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning, ""),
)


@contextlib.contextmanager
def _quiet_torch_deprecations() -> Iterator[None]:
    """Silence only torch's own deprecation notices for torch.jit and the ONNX exporters."""
    with warnings.catch_warnings():
        for message, category, module in _TORCH_DEPRECATIONS:
            warnings.filterwarnings("ignore", message=message, category=category, module=module)
        yield


@contextlib.contextmanager
def _atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temp path next to ``path``; on success fsync it and rename it onto ``path``,
    on any failure delete it, so neither a half file nor a temp file is ever left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a no-op after the rename


def _check_inputs(example: torch.Tensor, check_batch: torch.Tensor | None) -> torch.Tensor:
    """Validate the example and the check batch; return the batch to compare on."""
    for what, tensor in (("example", example), ("check_batch", check_batch)):
        if tensor is None:
            continue
        if not isinstance(tensor, torch.Tensor):
            raise ExportError(f"{what} must be a torch.Tensor; got {type(tensor).__name__}")
        if not tensor.is_floating_point() or tensor.dim() < 2 or tensor.shape[0] < 1:
            raise ExportError(
                f"{what} must be a non-empty float batch (N x C x H x W); "
                f"got {tensor.dtype} of shape {tuple(tensor.shape)}"
            )
    if check_batch is None:
        return example
    if check_batch.shape[1:] != example.shape[1:]:
        raise ExportError(
            f"check_batch shape {tuple(check_batch.shape)} does not match example shape "
            f"{tuple(example.shape)} beyond the batch axis"
        )
    return check_batch


def _model_output(model: nn.Module, batch: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        out = model(batch)
    if not isinstance(out, torch.Tensor):
        raise ExportError(f"the model must return one tensor; got {type(out).__name__}")
    return out.detach().float().cpu().numpy()


def _verified_diff(got: np.ndarray, want: np.ndarray, what: str, atol: float) -> float:
    """Max abs diff of two outputs; ExportError when shapes differ or the diff exceeds atol."""
    if got.shape != want.shape:
        raise ExportError(
            f"{what}: output shape {got.shape} differs from the PyTorch model's {want.shape}"
        )
    diff = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
    if not diff <= atol:  # also catches NaN
        raise ExportError(
            f"{what}: outputs differ from the PyTorch model by max abs diff {diff:.3g} "
            f"> atol {atol:g} on a batch of shape {tuple(want.shape)}"
        )
    return diff


def first_line(exc: BaseException) -> str:
    """``Type: first line`` of an error, ANSI colors removed, plus its root cause if any
    (torch.onnx wraps the informative torch.export error in a generic one)."""

    def one(error: BaseException) -> str:
        text = _ANSI.sub("", str(error)).strip()
        name = type(error).__name__
        return f"{name}: {text.splitlines()[0]}" if text else name

    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    return one(exc) if root is exc else f"{one(exc)} (caused by {one(root)})"


def _skip(fmt: str, reason: str) -> ExportResult:
    _logger.warning("%s", reason)
    return ExportResult(format=fmt, path=None, skipped=reason, max_abs_diff=None)


# -- TorchScript -------------------------------------------------------------------------------
def export_torchscript(
    model: nn.Module,
    example: torch.Tensor,
    path: str | os.PathLike,
    *,
    check_batch: torch.Tensor | None = None,
    atol: float = DEFAULT_ATOL,
) -> ExportResult:
    """Trace ``model`` on ``example`` and save it as TorchScript at ``path``.

    The saved file is reloaded with ``torch.jit.load`` and compared with the model on
    ``check_batch`` (default: ``example``); a diff above ``atol`` raises ExportError. Skipped
    (with the reason) when torch.jit is unavailable or cannot trace the model.
    """
    path = Path(path)
    batch = _check_inputs(example, check_batch)
    jit = getattr(torch, "jit", None)
    if jit is None or not all(hasattr(jit, name) for name in ("trace", "save", "load")):
        reason = f"torch.jit (trace/save/load) is not available in torch {torch.__version__}"
        return _skip("torchscript", f"torchscript export skipped: {reason}")
    start = time.perf_counter()
    with _eval_mode(model), _quiet_torch_deprecations():
        want = _model_output(model, batch)
        try:
            with _atomic_target(path) as tmp:
                try:
                    # tracing, not scripting: the blocks only branch on build-time constants;
                    # check_trace is off because the reloaded file is compared below anyway
                    traced = jit.trace(model, example, check_trace=False)
                    jit.save(traced, str(tmp))
                except Exception as exc:
                    raise _ExporterFailed(f"torch.jit failed: {first_line(exc)}") from exc
                diff = _check_torchscript(jit, tmp, path, batch, want, atol)
        except _ExporterFailed as exc:
            return _skip("torchscript", f"torchscript export skipped: {exc}")
    _logger.info(
        "exported torchscript %s (max abs diff %.3g, %.2f s)",
        path,
        diff,
        time.perf_counter() - start,
    )
    return ExportResult(format="torchscript", path=path, skipped=None, max_abs_diff=diff)


def _check_torchscript(
    jit: ModuleType, tmp: Path, path: Path, batch: torch.Tensor, want: np.ndarray, atol: float
) -> float:
    """Reload the saved file and compare it with the model's outputs ``want``."""
    try:
        loaded = jit.load(str(tmp), map_location=batch.device)
        loaded.eval()
        got = _model_output(loaded, batch)
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(
            f"{path}: the saved TorchScript file cannot be loaded and run: {first_line(exc)}"
        ) from exc
    return _verified_diff(got, want, f"{path} (torchscript)", atol)


# -- ONNX --------------------------------------------------------------------------------------
def _import_optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except (ImportError, OSError):  # OSError: a broken native library
        return None


def _export_onnx_dynamo(
    model: nn.Module, example: torch.Tensor, tmp: Path, opset: int | None
) -> None:
    batch = torch.export.Dim("batch")
    program = torch.onnx.export(
        model,
        (example,),
        dynamo=True,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes=({0: batch},),
        opset_version=opset,
        verbose=False,
    )
    # one self-contained file: external weights would be named after the temp file
    program.save(str(tmp), external_data=False)


def _export_onnx_legacy(
    model: nn.Module, example: torch.Tensor, tmp: Path, opset: int | None
) -> None:
    kwargs = {} if opset is None else {"opset_version": opset}
    torch.onnx.export(
        model,
        (example,),
        str(tmp),
        dynamo=False,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        **kwargs,
    )


def _write_onnx(model: nn.Module, example: torch.Tensor, tmp: Path, opset: int | None) -> str:
    """Export to ``tmp`` and return the exporter used; raise _ExporterFailed naming each attempt.

    The torch.export-based ("dynamo") exporter comes first. On torch 2.13 both exporters
    produce the same numbers for every block in the registry (max abs diff <= 2e-7), but the
    legacy one is deprecated ("will be removed") and rides on torch.jit tracing, which is
    deprecated too, so it is the one that will break; the dynamo exporter is torch's default
    since 2.9, refuses data-dependent control flow instead of silently tracing one branch, and
    handles a batch-1 example with a dynamic batch axis. It needs onnxscript and is slower
    (about 1-6 s for the zoo, against 0.02-0.3 s), which is fine for a once-per-model export.
    The legacy exporter is kept as the fallback for when onnxscript is missing or
    torch.export cannot handle a model; the result is checked the same way either way.
    """
    failures = []
    if _import_optional("onnxscript") is None:
        failures.append(f"dynamo exporter: onnxscript is not installed ({INSTALL_HINT})")
    else:
        try:
            _export_onnx_dynamo(model, example, tmp, opset)
            return "dynamo"
        except Exception as exc:
            failures.append(f"dynamo exporter: {first_line(exc)}")
    _logger.warning("%s; falling back to the legacy TorchScript-based exporter", failures[0])
    try:
        _export_onnx_legacy(model, example, tmp, opset)
        return "legacy"
    except Exception as exc:
        failures.append(f"legacy exporter: {first_line(exc)}")
    raise _ExporterFailed("; ".join(failures))


def _check_onnx(
    onnx: ModuleType,
    onnxruntime: ModuleType,
    tmp: Path,
    path: Path,
    batch: torch.Tensor,
    want: np.ndarray,
    atol: float,
    exporter: str,
) -> float:
    """Validate the written file and compare its onnxruntime outputs with ``want``."""
    try:
        onnx.checker.check_model(str(tmp), full_check=True)
    except Exception as exc:
        raise ExportError(
            f"{path}: onnx checker rejects the exported model: {first_line(exc)}"
        ) from exc
    try:
        session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: batch.detach().float().cpu().numpy()}
        got = np.asarray(session.run(None, feed)[0])
    except Exception as exc:
        raise ExportError(
            f"{path}: onnxruntime cannot run the exported model on a batch of shape "
            f"{tuple(batch.shape)}: {first_line(exc)}"
        ) from exc
    return _verified_diff(got, want, f"{path} (onnx, {exporter} exporter)", atol)


def export_onnx(
    model: nn.Module,
    example: torch.Tensor,
    path: str | os.PathLike,
    *,
    check_batch: torch.Tensor | None = None,
    atol: float = DEFAULT_ATOL,
    opset: int | None = None,
) -> ExportResult:
    """Export ``model`` to ONNX at ``path`` with a dynamic batch axis, checked end to end.

    The file must pass ``onnx.checker.check_model`` and, run in onnxruntime (CPU) on
    ``check_batch`` (default: ``example``; any batch size), match the model within ``atol``,
    else ExportError. Skipped, with the reason, when onnx or onnxruntime is not installed or
    no exporter can convert the model. ``opset`` None means the exporter's default.
    """
    path = Path(path)
    batch = _check_inputs(example, check_batch)
    modules = {}
    for name in ("onnx", "onnxruntime"):
        modules[name] = _import_optional(name)
        if modules[name] is None:
            return _skip("onnx", f"onnx export skipped: {name} is not installed ({INSTALL_HINT})")
    onnx, onnxruntime = modules["onnx"], modules["onnxruntime"]
    start = time.perf_counter()
    with _eval_mode(model), _quiet_torch_deprecations():
        want = _model_output(model, batch)
        try:
            with _atomic_target(path) as tmp:
                exporter = _write_onnx(model, example, tmp, opset)
                diff = _check_onnx(onnx, onnxruntime, tmp, path, batch, want, atol, exporter)
        except _ExporterFailed as exc:
            return _skip("onnx", f"onnx export skipped: {exc}")
    _logger.info(
        "exported onnx %s with the %s exporter (max abs diff %.3g, %.2f s)",
        path,
        exporter,
        diff,
        time.perf_counter() - start,
    )
    return ExportResult(format="onnx", path=path, skipped=None, max_abs_diff=diff)


def export_all(
    model: nn.Module,
    example: torch.Tensor,
    out_dir: str | os.PathLike,
    check_batch: torch.Tensor | None = None,
) -> dict[str, ExportResult]:
    """Export ``model.ts`` and ``model.onnx`` into ``out_dir``; results keyed by format."""
    out_dir = Path(out_dir)
    return {
        "torchscript": export_torchscript(
            model, example, out_dir / TORCHSCRIPT_NAME, check_batch=check_batch
        ),
        "onnx": export_onnx(model, example, out_dir / ONNX_NAME, check_batch=check_batch),
    }
