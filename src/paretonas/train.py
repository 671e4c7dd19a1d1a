"""The training loop and evaluation: ``from paretonas.train import fit, evaluate, HParams``.

The code lives in the ``paretonas.training`` package; this module is its public door.
"""

from __future__ import annotations

from paretonas.training import (
    OPTIMIZERS,
    SCHEDULES,
    Augment,
    DeviceImages,
    EpochRecord,
    Evaluation,
    FitResult,
    HParams,
    Precision,
    Split,
    TrainingDiverged,
    augment_batch,
    evaluate,
    fit,
    horizontal_flip,
    macro_f1,
    normalization,
    random_crop,
    resolve_device,
)

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "Augment",
    "DeviceImages",
    "EpochRecord",
    "Evaluation",
    "FitResult",
    "HParams",
    "Precision",
    "Split",
    "TrainingDiverged",
    "augment_batch",
    "evaluate",
    "fit",
    "horizontal_flip",
    "macro_f1",
    "normalization",
    "random_crop",
    "resolve_device",
]
