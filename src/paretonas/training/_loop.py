"""The training loop: ``fit`` trains on in-memory tensors and keeps the best epoch by val F1.

Reads top to bottom: put data and model on the device, then per epoch shuffle with a seeded
generator, train batch by batch, evaluate on val, record, keep the best state, ask the
callback whether to stop. The batch loop holds no host sync except a finiteness check of the
losses every ``NAN_CHECK_EVERY`` batches.

``fit`` never calls ``torch.set_num_threads``: the process that calls it (a search worker,
a benchmark) owns the thread count.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from paretonas.training._config import Augment, HParams
from paretonas.training._device import Precision, resolve_device
from paretonas.training._evaluate import macro_f1, predict
from paretonas.training._optim import make_optimizer, make_scheduler
from paretonas.training._tensors import DeviceImages, Split, augment_batch

_logger = logging.getLogger(__name__)

NAN_CHECK_EVERY = 16  # batches between finiteness checks (each one waits for the device)
# Dropout and other in-model randomness draw from the global RNG; fit seeds a forked copy
# of it from seed + this offset, so that stream differs from the shuffling generator's.
_MODEL_RNG_OFFSET = 7919


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite; the message names the epoch and batch."""


@dataclass
class EpochRecord:
    """One epoch: mean train loss (as optimized, with label smoothing), val figures, the
    learning rate the epoch started with, and wall seconds (train + val)."""

    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    val_f1: float
    lr: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FitResult:
    """What ``fit`` did. ``best_state`` is a CPU copy of the state dict at ``best_epoch``
    (1-based); ``samples_per_second`` counts training samples over training time only."""

    history: list[EpochRecord]
    best_epoch: int
    best_val_f1: float
    best_state: dict[str, torch.Tensor] = field(repr=False)
    best_val_predictions: np.ndarray = field(repr=False)  # at best_epoch: for F1's noise
    stopped: bool
    stop_reason: str | None
    seconds: float
    samples_per_second: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (everything but ``best_state``)."""
        skip = ("best_state", "best_val_predictions")
        data = {k: v for k, v in self.__dict__.items() if k not in skip}
        data["history"] = [record.to_dict() for record in self.history]
        return data


def fit(
    model: nn.Module,
    train: Split,
    val: Split,
    hparams: HParams,
    *,
    mean: Sequence[float],
    std: Sequence[float],
    augment: Augment = Augment(),  # noqa: B008 (frozen, so a shared default is safe)
    seed: int = 0,
    device: str | torch.device = "auto",
    on_epoch: Callable[[EpochRecord], str | None] | None = None,
) -> FitResult:
    """Train ``model`` on ``train`` for ``hparams.epochs``, evaluating on ``val`` each epoch.

    ``on_epoch`` sees each EpochRecord and may return a reason to stop now (pruning). The best
    epoch is the one with the highest val macro F1 (ties: the earlier); its weights are loaded
    back into ``model``, which stays on ``device``. On CPU the result depends only on the
    model's initial weights, the data, ``hparams`` and ``seed``: shuffling and augmentation use
    a generator seeded from ``seed``, dropout a forked global RNG (the caller's RNG state is
    left untouched). Raises TrainingDiverged when the loss becomes NaN or infinite.
    """
    started = time.perf_counter()
    resolved = resolve_device(device)
    precision = Precision.for_device(resolved)
    model.to(resolved, memory_format=precision.memory_format)
    train_images = DeviceImages(train.images, mean, std, resolved, precision.memory_format)
    val_images = DeviceImages(val.images, mean, std, resolved, precision.memory_format)
    train_labels, val_labels = train.labels.to(resolved), val.labels.to(resolved)
    val_labels_cpu = val.labels.numpy()

    # A last batch of one sample breaks BatchNorm in training mode: skip that one sample
    # (a different one each epoch, as the order is reshuffled).
    samples = len(train)
    if samples > 1 and samples % hparams.batch_size == 1:
        samples -= 1
    steps = math.ceil(samples / hparams.batch_size)
    optimizer = make_optimizer(model.parameters(), hparams)
    scheduler, per_batch = make_scheduler(optimizer, hparams, steps)
    epoch_loop = _EpochLoop(
        model=model,
        images=train_images,
        labels=train_labels,
        samples=samples,
        batch_size=hparams.batch_size,
        optimizer=optimizer,
        criterion=nn.CrossEntropyLoss(label_smoothing=hparams.label_smoothing),
        batch_scheduler=scheduler if per_batch else None,
        precision=precision,
        augment=augment,
        generator=torch.Generator(device=resolved).manual_seed(seed),
    )
    history: list[EpochRecord] = []
    best_epoch, best_f1, best_state = 0, -math.inf, {}
    best_predictions = np.zeros(0, dtype=np.int64)
    stop_reason: str | None = None
    train_seconds = 0.0
    was_training = model.training
    model.train()
    with torch.random.fork_rng(devices=precision.rng_devices()):
        torch.manual_seed(seed + _MODEL_RNG_OFFSET)
        for epoch in range(1, hparams.epochs + 1):
            epoch_start = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            train_loss = epoch_loop.run(epoch)
            train_seconds += time.perf_counter() - epoch_start
            if scheduler is not None and not per_batch:
                scheduler.step()
            result = predict(model, val_images, val_labels, precision)
            record = EpochRecord(
                epoch=epoch,
                train_loss=train_loss,
                val_loss=result.loss,
                val_accuracy=result.accuracy,
                val_f1=macro_f1(val_labels_cpu, result.predictions.numpy()),
                lr=lr,
                seconds=time.perf_counter() - epoch_start,
            )
            history.append(record)
            _logger.debug(
                "epoch %d/%d: train loss %.4f, val loss %.4f, val acc %.4f, val F1 %.4f (%.1fs)",
                epoch,
                hparams.epochs,
                record.train_loss,
                record.val_loss,
                record.val_accuracy,
                record.val_f1,
                record.seconds,
            )
            if record.val_f1 > best_f1:
                best_epoch, best_f1, best_state = epoch, record.val_f1, _cpu_state(model)
                best_predictions = result.predictions.numpy().copy()
            reason = on_epoch(record) if on_epoch is not None else None
            if reason is not None:
                stop_reason = str(reason)
                _logger.debug("stopped after epoch %d: %s", epoch, stop_reason)
                break
    model.load_state_dict(best_state)
    model.train(was_training)
    trained = samples * len(history)
    return FitResult(
        history=history,
        best_epoch=best_epoch,
        best_val_f1=best_f1,
        best_state=best_state,
        best_val_predictions=best_predictions,
        stopped=stop_reason is not None,
        stop_reason=stop_reason,
        seconds=time.perf_counter() - started,
        samples_per_second=trained / train_seconds if train_seconds > 0 else 0.0,
    )


@dataclass
class _EpochLoop:
    """Everything one training epoch needs; ``run`` is the hot loop."""

    model: nn.Module
    images: DeviceImages
    labels: torch.Tensor
    samples: int
    batch_size: int
    optimizer: torch.optim.Optimizer
    criterion: nn.Module
    batch_scheduler: torch.optim.lr_scheduler.LRScheduler | None
    precision: Precision
    augment: Augment
    generator: torch.Generator

    def __post_init__(self) -> None:
        self.scaler = self.precision.grad_scaler()
        self.autocast = self.precision.autocast()
        self.steps = math.ceil(self.samples / self.batch_size)
        sizes = torch.full((self.steps,), float(self.batch_size), dtype=torch.float64)
        sizes[-1] = self.samples - self.batch_size * (self.steps - 1)
        self.batch_sizes = sizes.to(self.labels.device)

    def run(self, epoch: int) -> float:
        """Train one epoch over a fresh permutation; returns the sample-weighted mean loss."""
        model, optimizer, criterion = self.model, self.optimizer, self.criterion
        scaler, scheduler = self.scaler, self.batch_scheduler
        images, labels, augment = self.images, self.labels, self.augment
        channels_last = self.precision.memory_format is torch.channels_last
        order = torch.randperm(len(labels), generator=self.generator, device=labels.device)
        losses: list[torch.Tensor] = []
        for step in range(self.steps):
            index = order[step * self.batch_size : (step + 1) * self.batch_size]
            inputs = images.take(index)
            if augment.enabled:
                inputs = augment_batch(inputs, augment, self.generator, images.fill)
                if channels_last:
                    inputs = inputs.contiguous(memory_format=torch.channels_last)
            with self.autocast:
                loss = criterion(model(inputs), labels.index_select(0, index))
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            if scheduler is not None:
                scheduler.step()
            losses.append(loss.detach())
            if (step + 1) % NAN_CHECK_EVERY == 0:
                self._check_finite(losses, step + 1 - NAN_CHECK_EVERY, epoch)
        self._check_finite(losses, self.steps - self.steps % NAN_CHECK_EVERY, epoch)
        total = torch.stack(losses).to(torch.float64) @ self.batch_sizes
        return float(total) / self.samples

    def _check_finite(self, losses: list[torch.Tensor], first: int, epoch: int) -> None:
        """Raise TrainingDiverged if any of ``losses[first:]`` is NaN or infinite."""
        recent = torch.stack(losses[first:]) if first < len(losses) else None
        if recent is None or bool(torch.isfinite(recent).all()):
            return
        bad = first + int((~torch.isfinite(recent)).nonzero()[0, 0])
        raise TrainingDiverged(
            f"training diverged: loss {float(losses[bad]):g} at epoch {epoch}, batch "
            f"{bad + 1} of {self.steps} (lr {self.optimizer.param_groups[0]['lr']:g}); "
            "lower the learning rate or check the data and normalization"
        )


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached, contiguous CPU copy of ``model``'s state dict."""
    return {
        name: value.detach().to("cpu", memory_format=torch.contiguous_format, copy=True)
        for name, value in model.state_dict().items()
    }
