"""The training loop: ``fit`` trains on in-memory tensors and keeps the best epoch by val F1.

Reads top to bottom: put data and model on the device, work out the budget in optimizer
steps and where to evaluate (each epoch's end, the requested steps, the last step), then
segment by segment: train (a fresh seeded permutation at each epoch start), evaluate on val,
record, keep the best state, ask the callback whether to stop. The batch loop holds no host
sync except a finiteness check of the losses every ``NAN_CHECK_EVERY`` batches.

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

from paretonas.training._augment import augment_batch
from paretonas.training._config import Augment, HParams
from paretonas.training._device import Precision, resolve_device
from paretonas.training._evaluate import macro_f1, predict
from paretonas.training._optim import make_optimizer, make_scheduler
from paretonas.training._tensors import DeviceImages, Split

_logger = logging.getLogger(__name__)

NAN_CHECK_EVERY = 16  # batches between finiteness checks (each one waits for the device)
EVALUATIONS = 10  # a budget longer than this many epochs is evaluated this many times
# Dropout and other in-model randomness draw from the global RNG; fit seeds a forked copy
# of it from seed + this offset, so that stream differs from the shuffling generator's.
_MODEL_RNG_OFFSET = 7919


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite; the message names the epoch and batch."""


@dataclass
class EpochRecord:
    """One evaluation (at the end of an epoch, or at a requested step part-way through one):
    mean train loss since the previous evaluation (as optimized, with label smoothing), val
    figures, the learning rate the segment started with, and wall seconds (train + val)."""

    epoch: int  # the epoch this evaluation falls in (1-based)
    train_loss: float
    val_loss: float
    val_accuracy: float
    val_f1: float
    lr: float
    seconds: float
    step: int = 0  # optimizer steps done when evaluated

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FitResult:
    """What ``fit`` did. ``best_state`` is a CPU copy of the state dict at the best evaluation
    (``best_epoch`` is its 1-based index in ``history``, which holds one record per
    evaluation); ``samples_per_second`` counts training samples over training time only."""

    history: list[EpochRecord]
    best_epoch: int
    best_val_f1: float
    best_state: dict[str, torch.Tensor] = field(repr=False)
    best_val_predictions: np.ndarray = field(repr=False)  # at the best evaluation
    stopped: bool
    stop_reason: str | None
    seconds: float
    samples_per_second: float
    steps: int = 0  # optimizer steps run
    budget_steps: int = 0  # the budget's steps (more than ``steps`` when stopped early)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (everything but ``best_state``)."""
        skip = ("best_state", "best_val_predictions")
        data = {k: v for k, v in self.__dict__.items() if k not in skip}
        data["history"] = [record.to_dict() for record in self.history]
        return data


def trained_samples(samples: int, batch_size: int) -> int:
    """Samples an epoch trains on: all but one when the last batch would hold a single sample
    (that breaks BatchNorm in training mode; a different one is skipped each epoch, as the
    order is reshuffled)."""
    return samples - 1 if samples > 1 and samples % batch_size == 1 else samples


def budget_steps(hparams: HParams, samples: int) -> int:
    """The optimizer steps ``fit`` runs for ``hparams`` on a split of ``samples``."""
    return hparams.budget_steps(
        math.ceil(trained_samples(samples, hparams.batch_size) / hparams.batch_size)
    )


def fit(
    model: nn.Module,
    train: Split,
    val: Split,
    hparams: HParams,
    *,
    mean: Sequence[float],
    std: Sequence[float],
    augment: Augment | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    eval_steps: Sequence[int] = (),
    restarts: Sequence[int] = (),
    on_eval: Callable[[EpochRecord], str | None] | None = None,
) -> FitResult:
    """Train ``model`` on ``train`` for the budget of ``hparams`` (``steps``, or ``epochs``),
    both splits first resized to ``hparams.img_size`` (once, when it is set and differs),
    training batches augmented by ``augment`` (None: ``hparams.augment``), evaluating on
    ``val`` at the end of each epoch (or, for a budget longer than
    ``EVALUATIONS`` epochs, that many times evenly), at each step of ``eval_steps`` inside
    the budget, and at the last step. ``restarts`` (the pruning rungs) restart the
    learning-rate schedule there (``make_scheduler``): each rung then sees an annealed model.

    ``on_eval`` sees each EpochRecord and may return a reason to stop now (pruning). The best
    evaluation is the one with the highest val macro F1 (ties: the earlier); its weights are
    loaded back into ``model``, which stays on ``device``. On CPU the result depends only on
    the model's initial weights, the data, ``hparams`` and ``seed``: shuffling and augmentation
    use a generator seeded from ``seed``, dropout a forked global RNG (the caller's RNG state is
    left untouched); evaluations do not change the training. Raises TrainingDiverged when the
    loss becomes NaN or infinite.
    """
    started = time.perf_counter()
    augment = hparams.augment if augment is None else augment
    if hparams.img_size is not None:
        train, val = train.resized(hparams.img_size), val.resized(hparams.img_size)
    resolved = resolve_device(device)
    precision = Precision.for_device(resolved)
    model.to(resolved, memory_format=precision.memory_format)
    train_images = DeviceImages(train.images, mean, std, resolved, precision.memory_format)
    val_images = DeviceImages(val.images, mean, std, resolved, precision.memory_format)
    train_labels, val_labels = train.labels.to(resolved), val.labels.to(resolved)
    val_labels_cpu = val.labels.numpy()

    samples = trained_samples(len(train), hparams.batch_size)
    steps_per_epoch = math.ceil(samples / hparams.batch_size)
    budget = hparams.budget_steps(steps_per_epoch)
    optimizer = make_optimizer(model.parameters(), hparams)
    scheduler = make_scheduler(optimizer, hparams, budget, restarts)
    epoch_loop = _EpochLoop(
        model=model,
        images=train_images,
        labels=train_labels,
        samples=samples,
        batch_size=hparams.batch_size,
        optimizer=optimizer,
        criterion=nn.CrossEntropyLoss(label_smoothing=hparams.label_smoothing),
        scheduler=scheduler,
        precision=precision,
        augment=augment,
        generator=torch.Generator(device=resolved).manual_seed(seed),
    )
    if budget <= EVALUATIONS * steps_per_epoch:  # each epoch's end
        regular = set(range(steps_per_epoch, budget, steps_per_epoch))
    else:  # a long budget (in steps, on a small split): EVALUATIONS evenly spaced
        regular = {math.ceil(budget * i / EVALUATIONS) for i in range(1, EVALUATIONS)}
    stops = sorted({s for s in eval_steps if 0 < s < budget} | regular | {budget})
    history: list[EpochRecord] = []
    best_index, best_f1, best_state = 0, -math.inf, {}
    best_predictions = np.zeros(0, dtype=np.int64)
    stop_reason: str | None = None
    train_seconds = 0.0
    step = 0
    was_training = model.training
    model.train()
    with torch.random.fork_rng(devices=precision.rng_devices()):
        torch.manual_seed(seed + _MODEL_RNG_OFFSET)
        for stop in stops:
            segment_start = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            train_loss = epoch_loop.run(
                step // steps_per_epoch + 1, step % steps_per_epoch, stop - step
            )
            step = stop
            epoch = (step - 1) // steps_per_epoch + 1
            train_seconds += time.perf_counter() - segment_start
            result = predict(model, val_images, val_labels, precision)
            record = EpochRecord(
                epoch=epoch,
                train_loss=train_loss,
                val_loss=result.loss,
                val_accuracy=result.accuracy,
                val_f1=macro_f1(val_labels_cpu, result.predictions.numpy()),
                lr=lr,
                seconds=time.perf_counter() - segment_start,
                step=step,
            )
            history.append(record)
            _logger.debug(
                "step %d/%d (epoch %d): train loss %.4f, val loss %.4f, val acc %.4f, "
                "val F1 %.4f (%.1fs)",
                step,
                budget,
                epoch,
                record.train_loss,
                record.val_loss,
                record.val_accuracy,
                record.val_f1,
                record.seconds,
            )
            if record.val_f1 > best_f1:
                best_index, best_f1, best_state = len(history), record.val_f1, _cpu_state(model)
                best_predictions = result.predictions.numpy().copy()
            reason = on_eval(record) if on_eval is not None else None
            if reason is not None:
                stop_reason = str(reason)
                _logger.debug("stopped after step %d: %s", step, stop_reason)
                break
    model.load_state_dict(best_state)
    model.train(was_training)
    trained = sum(epoch_loop.trained)
    return FitResult(
        history=history,
        best_epoch=best_index,
        best_val_f1=best_f1,
        best_state=best_state,
        best_val_predictions=best_predictions,
        stopped=stop_reason is not None,
        stop_reason=stop_reason,
        seconds=time.perf_counter() - started,
        samples_per_second=trained / train_seconds if train_seconds > 0 else 0.0,
        steps=step,
        budget_steps=budget,
    )


@dataclass
class _EpochLoop:
    """Everything training needs between two evaluations; ``run`` is the hot loop."""

    model: nn.Module
    images: DeviceImages
    labels: torch.Tensor
    samples: int
    batch_size: int
    optimizer: torch.optim.Optimizer
    criterion: nn.Module
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
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
        self.order: torch.Tensor | None = None
        self.trained: list[int] = []  # samples trained per segment

    def run(self, epoch: int, first: int, count: int) -> float:
        """Train ``count`` steps of the current epoch from batch ``first`` on (a fresh
        permutation when ``first`` is 0), crossing into later epochs when ``count`` reaches
        past this one; returns the sample-weighted mean loss of those steps."""
        model, optimizer, criterion = self.model, self.optimizer, self.criterion
        scaler, scheduler = self.scaler, self.scheduler
        images, labels, augment = self.images, self.labels, self.augment
        channels_last = self.precision.memory_format is torch.channels_last
        losses: list[torch.Tensor] = []
        weights: list[torch.Tensor] = []
        where: list[tuple[int, int]] = []  # (epoch, batch) of each loss, for the message
        checked = 0
        batch = first
        for _ in range(count):
            if batch == self.steps:  # the segment runs on into the next epoch
                batch, epoch = 0, epoch + 1
            if batch == 0:
                self.order = torch.randperm(
                    len(labels), generator=self.generator, device=labels.device
                )
            assert self.order is not None
            index = self.order[batch * self.batch_size : (batch + 1) * self.batch_size]
            inputs = images.take(index)
            if augment.enabled:
                inputs = augment_batch(inputs, augment, self.generator, images.fill, images.scale)
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
            weights.append(self.batch_sizes[batch])
            where.append((epoch, batch))
            batch += 1
            if len(losses) - checked == NAN_CHECK_EVERY:
                self._check_finite(losses, checked, where)
                checked = len(losses)
        self._check_finite(losses, checked, where)
        if not losses:
            return float("nan")
        sizes = torch.stack(weights)
        self.trained.append(int(sizes.sum()))
        total = torch.stack(losses).to(torch.float64) @ sizes
        return float(total) / float(sizes.sum())

    def _check_finite(
        self, losses: list[torch.Tensor], first: int, where: list[tuple[int, int]]
    ) -> None:
        """Raise TrainingDiverged if any of ``losses[first:]`` is NaN or infinite."""
        recent = torch.stack(losses[first:]) if first < len(losses) else None
        if recent is None or bool(torch.isfinite(recent).all()):
            return
        bad = first + int((~torch.isfinite(recent)).nonzero()[0, 0])
        epoch, batch = where[bad]
        raise TrainingDiverged(
            f"training diverged: loss {float(losses[bad]):g} at epoch {epoch}, batch "
            f"{batch + 1} of {self.steps} (lr {self.optimizer.param_groups[0]['lr']:g}); "
            "lower the learning rate or check the data and normalization"
        )


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached, contiguous CPU copy of ``model``'s state dict."""
    return {
        name: value.detach().to("cpu", memory_format=torch.contiguous_format, copy=True)
        for name, value in model.state_dict().items()
    }
