"""Evaluation: loss, accuracy, macro F1, confusion matrix and per-class report of a model.

Inference runs under ``torch.inference_mode`` in large batches and collects losses and
predictions as tensors on the device; the only host transfer is the predictions at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from paretonas.chance import proportion_se
from paretonas.errors import ConfigError
from paretonas.training._device import Precision, resolve_device
from paretonas.training._tensors import DeviceImages, Split

_logger = logging.getLogger(__name__)

EVAL_BATCH_SIZE = 512


@dataclass
class Evaluation:
    """A model's figures on one split. ``per_class`` is scikit-learn's
    ``classification_report(output_dict=True)`` over classes 0..K-1 (keys "0", "1", ...)."""

    loss: float
    accuracy: float
    f1_macro: float
    confusion_matrix: list[list[int]]
    per_class: dict[str, Any]
    predictions: list[int]

    def to_dict(self, predictions: bool = False) -> dict[str, Any]:
        """Plain data for JSON; the predictions only when asked (they are one per sample)."""
        data = asdict(self)
        if not predictions:
            del data["predictions"]
        return data


def macro_f1(labels: Any, predictions: Any) -> float:
    """``sklearn.metrics.f1_score(labels, predictions, average="macro")``: the mean F1 over
    the classes that occur in either; a class never predicted scores 0 (no warning)."""
    from sklearn.metrics import f1_score  # deferred: only evaluation needs scikit-learn

    return float(f1_score(labels, predictions, average="macro", zero_division=0))


@dataclass(frozen=True)
class F1Noise:
    """How much a macro-F1 could move by chance: the standard error and the 95% interval of
    bootstrap resamples of the split (labels, predictions)."""

    se: float
    low: float
    high: float
    samples: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def f1_noise(
    labels: Any, predictions: Any, num_classes: int, resamples: int = 1000, seed: int = 0
) -> F1Noise:
    """Bootstrap the macro-F1 of ``predictions``: resampling the split's (label, prediction)
    pairs is drawing the confusion matrix's cells multinomially, so 1000 resamples cost one
    vectorized step. Classes absent from a resample's labels and predictions are left out of
    its mean, as scikit-learn does. The standard error is never below a proportion's
    (Agresti-Coull) for the same score and split size. Seeded: the same inputs give the same
    figures."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    n = len(labels)
    if n == 0:
        return F1Noise(0.0, 0.0, 0.0, 0)
    cells = np.bincount(labels * num_classes + predictions, minlength=num_classes**2)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, cells / n, size=resamples).reshape(-1, num_classes, num_classes)
    true_positive = np.diagonal(draws, axis1=1, axis2=2)
    denominator = draws.sum(axis=1) + draws.sum(axis=2)  # 2 tp + fp + fn per class
    present = denominator > 0
    f1 = np.where(present, 2 * true_positive / np.maximum(denominator, 1), 0.0)
    macro = f1.sum(axis=1) / np.maximum(present.sum(axis=1), 1)
    low, high = np.percentile(macro, [2.5, 97.5])
    # at the boundary (no mistake at all) every resample scores 1 and the bootstrap says "no
    # noise"; a proportion's Agresti-Coull error, F1 as the proportion, is the floor
    floor = proportion_se(float(macro_f1(labels, predictions)), n)
    return F1Noise(max(float(macro.std(ddof=1)), floor), float(low), float(high), n)


@dataclass(frozen=True)
class Predictions:
    """What one pass over a split gives: mean loss, accuracy, and predictions (CPU)."""

    loss: float
    accuracy: float
    predictions: torch.Tensor
    num_outputs: int


def predict(
    model: nn.Module,
    images: DeviceImages,
    labels: torch.Tensor,
    precision: Precision,
    batch_size: int = EVAL_BATCH_SIZE,
) -> Predictions:
    """Run ``model`` in eval mode over every sample; restores the model's mode afterwards.

    The loss is plain cross-entropy (no label smoothing), so epochs and models compare.
    """
    was_training = model.training
    model.eval()
    chunks = []
    num_outputs = 0
    try:
        with torch.inference_mode(), precision.autocast():
            loss_sum = torch.zeros((), dtype=torch.float64, device=labels.device)
            for start in range(0, len(images), batch_size):
                stop = min(start + batch_size, len(images))
                logits = model(images.slice(start, stop)).float()
                target = labels[start:stop]
                loss_sum += functional.cross_entropy(logits, target, reduction="sum")
                chunks.append(logits.argmax(dim=1))
                num_outputs = logits.shape[1]
    finally:
        model.train(was_training)
    predictions = torch.cat(chunks)
    correct = (predictions == labels).sum()
    totals = torch.stack([loss_sum, correct.to(torch.float64)]).cpu()
    return Predictions(
        loss=float(totals[0]) / len(labels),
        accuracy=float(totals[1]) / len(labels),
        predictions=predictions.cpu(),
        num_outputs=num_outputs,
    )


def evaluate(
    model: nn.Module,
    split: Split,
    *,
    mean: Sequence[float],
    std: Sequence[float],
    device: str | torch.device = "auto",
    batch_size: int = EVAL_BATCH_SIZE,
    num_classes: int | None = None,
) -> Evaluation:
    """Evaluate ``model`` on ``split`` (normalized with per-channel ``mean``/``std``).

    Moves the model to ``device`` (and to channels_last on CUDA) and leaves it there.
    ``num_classes`` sizes the confusion matrix and report; by default the model's output
    width. ``f1_macro`` is scikit-learn's macro F1 over the classes present (``macro_f1``).
    """
    from sklearn.metrics import classification_report

    resolved = resolve_device(device)
    precision = Precision.for_device(resolved)
    model.to(resolved, memory_format=precision.memory_format)
    # One pass over the split: normalizing it all up front would save nothing.
    images = DeviceImages(
        split.images, mean, std, resolved, precision.memory_format, prenormalize=False
    )
    result = predict(model, images, split.labels.to(resolved), precision, batch_size)
    classes = num_classes if num_classes is not None else result.num_outputs
    labels = split.labels
    predictions = result.predictions
    largest = int(torch.maximum(labels.max(), predictions.max()))
    if largest >= classes:
        raise ConfigError(
            f"num_classes: {classes} is too small: labels or predictions reach class {largest}"
        )
    confusion = torch.bincount(labels * classes + predictions, minlength=classes * classes)
    report = classification_report(
        labels.numpy(),
        predictions.numpy(),
        labels=list(range(classes)),
        output_dict=True,
        zero_division=0,
    )
    evaluation = Evaluation(
        loss=result.loss,
        accuracy=result.accuracy,
        f1_macro=macro_f1(labels.numpy(), predictions.numpy()),
        confusion_matrix=confusion.view(classes, classes).tolist(),
        per_class=report,
        predictions=predictions.tolist(),
    )
    _logger.info(
        "evaluated %d samples: loss %.4f, accuracy %.4f, macro F1 %.4f",
        len(split),
        evaluation.loss,
        evaluation.accuracy,
        evaluation.f1_macro,
    )
    return evaluation
