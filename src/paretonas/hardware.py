"""A fingerprint of the machine a latency was measured on (latencies compare only within one)."""

from __future__ import annotations

import functools
import os
import platform

import torch


@functools.cache
def fingerprint() -> dict[str, str | int]:
    """CPU model, cores, torch build and device: stored beside every latency figure."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "latency_threads": 1,
    }
