"""Where and in which precision training runs: device choice, AMP and memory format."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import torch

from paretonas.errors import ConfigError

_logger = logging.getLogger(__name__)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; anything else must name a usable device."""
    if isinstance(device, torch.device):
        resolved = device
    elif device == "auto":
        resolved = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            resolved = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ConfigError(f"device: {device!r} is not a device name ({exc})") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device: {str(resolved)!r} requested but CUDA is not available")
    if resolved.type not in ("cpu", "cuda"):
        raise ConfigError(f"device: {str(resolved)!r} is not supported; use auto, cpu or cuda")
    return resolved


@dataclass(frozen=True)
class Precision:
    """How one device trains: autocast dtype (None: plain float32) and memory format.

    CUDA: bfloat16 autocast where the GPU supports it (no loss scaling needed), else float16
    with a GradScaler; channels_last, which the tensor-core convolution kernels prefer.
    CPU: float32, contiguous; nothing changes the arithmetic, which keeps runs bit-identical.
    """

    device: torch.device
    autocast_dtype: torch.dtype | None
    memory_format: torch.memory_format

    @classmethod
    def for_device(cls, device: torch.device) -> Precision:
        if device.type == "cuda":
            bf16 = torch.cuda.is_bf16_supported()
            dtype = torch.bfloat16 if bf16 else torch.float16
            _logger.debug("CUDA training with %s autocast and channels_last", dtype)
            return cls(device, dtype, torch.channels_last)
        return cls(device, None, torch.contiguous_format)

    def autocast(self) -> Any:
        """A reusable context manager: autocast on CUDA, nothing on CPU."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def grad_scaler(self) -> torch.amp.GradScaler | None:
        """A GradScaler for float16 autocast (bfloat16 and float32 need none)."""
        if self.autocast_dtype is torch.float16:
            return torch.amp.GradScaler(self.device.type)
        return None

    def rng_devices(self) -> list[int]:
        """The CUDA devices whose RNG ``fork_rng`` must save and restore."""
        if self.device.type != "cuda":
            return []
        index = self.device.index
        return [torch.cuda.current_device() if index is None else index]
