"""In-memory training and evaluation of image classifiers on uint8 tensors.

``fit`` trains on a ``Split`` (uint8 N x C x H x W, int64 labels), resized once to
``HParams.img_size``, with per-batch normalization and vectorized augmentation
(``HParams.augment``), evaluates on val every epoch and keeps the best epoch by macro F1;
``evaluate`` reports loss, accuracy, F1, confusion matrix and per-class figures.
"""

from __future__ import annotations

from paretonas.training._augment import (
    augment_batch,
    color_jitter,
    cutout,
    horizontal_flip,
    random_crop,
)
from paretonas.training._config import OPTIMIZERS, SCHEDULES, Augment, HParams
from paretonas.training._device import Precision, resolve_device
from paretonas.training._early_stop import EarlyStop, patience_for
from paretonas.training._evaluate import (
    Evaluation,
    F1Noise,
    evaluate,
    f1_noise,
    macro_f1,
)
from paretonas.training._loop import EpochRecord, FitResult, TrainingDiverged, budget_steps, fit
from paretonas.training._optim import make_optimizer, make_scheduler
from paretonas.training._tensors import DeviceImages, Split, normalization, resize_images

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "Augment",
    "DeviceImages",
    "EarlyStop",
    "EpochRecord",
    "Evaluation",
    "F1Noise",
    "FitResult",
    "HParams",
    "Precision",
    "Split",
    "TrainingDiverged",
    "augment_batch",
    "budget_steps",
    "color_jitter",
    "cutout",
    "evaluate",
    "f1_noise",
    "fit",
    "horizontal_flip",
    "macro_f1",
    "make_optimizer",
    "make_scheduler",
    "normalization",
    "patience_for",
    "random_crop",
    "resize_images",
    "resolve_device",
]
