"""Optimizer and learning-rate schedule from HParams."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch.optim import lr_scheduler

from paretonas.training._config import HParams


def make_optimizer(
    parameters: Iterable[torch.nn.Parameter], hparams: HParams
) -> torch.optim.Optimizer:
    """Adam, AdamW, SGD (momentum, optional Nesterov) or RMSprop (``alpha``, momentum);
    weight decay on every parameter."""
    params = [p for p in parameters if p.requires_grad]
    if hparams.optimizer == "adam":
        return torch.optim.Adam(params, lr=hparams.lr, weight_decay=hparams.weight_decay)
    if hparams.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=hparams.lr, weight_decay=hparams.weight_decay)
    if hparams.optimizer == "rmsprop":
        return torch.optim.RMSprop(
            params,
            lr=hparams.lr,
            alpha=hparams.alpha,
            momentum=hparams.momentum,
            weight_decay=hparams.weight_decay,
        )
    return torch.optim.SGD(
        params,
        lr=hparams.lr,
        momentum=hparams.momentum,
        nesterov=hparams.nesterov,
        weight_decay=hparams.weight_decay,
    )


def make_scheduler(
    optimizer: torch.optim.Optimizer,
    hparams: HParams,
    total_steps: int,
    restarts: Sequence[int] = (),
) -> lr_scheduler.LRScheduler | None:
    """The schedule over ``total_steps`` optimizer steps (the budget); it steps after every
    batch, so the learning rate moves smoothly even within few epochs and a budget that stops
    part-way through an epoch ends the schedule with it. ``step`` decays by 0.1 at each third
    of the budget; ``none`` has no scheduler.

    ``restarts`` (steps inside the budget: the pruning rungs) make it rung-aware: the shape
    runs over each segment between restarts in turn (warm restarts, as SGDR), so at every
    rung the learning rate has annealed and the rung's validation F1 is that of a finished
    short training, comparable across schedules, not a mid-schedule snapshot (with one
    cosine over the whole budget a rung at 1/9 sees the learning rate near its peak, and
    one-cycle is still warming up)."""
    total_steps = max(1, total_steps)
    inner = sorted({s for s in restarts if 0 < s < total_steps})
    if inner and hparams.schedule != "none":
        bounds = [0, *inner, total_steps]
        shape = _SHAPES[hparams.schedule]

        def factor(step: int) -> float:
            start = max(b for b in bounds[:-1] if b <= step)
            length = bounds[bounds.index(start) + 1] - start
            return shape(min(step - start, length), length)

        return lr_scheduler.LambdaLR(optimizer, factor)
    if hparams.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if hparams.schedule == "onecycle":
        # cycle_momentum=False: momentum (or Adam's beta1) stays what HParams says.
        return lr_scheduler.OneCycleLR(
            optimizer, max_lr=hparams.lr, total_steps=total_steps, cycle_momentum=False
        )
    if hparams.schedule == "step":
        return lr_scheduler.StepLR(optimizer, step_size=math.ceil(total_steps / 3), gamma=0.1)
    return None


def _cosine(position: float, length: float) -> float:
    """From 1 down to 0 over ``length`` steps (CosineAnnealingLR)."""
    return 0.5 * (1 + math.cos(math.pi * position / length))


def _one_cycle(position: float, length: float) -> float:
    """OneCycleLR's defaults as a factor of ``lr``: from lr/25 up to lr over the first 30%
    of ``length`` (cosine), then down to lr/25e4 (cosine)."""
    low, final = 1 / 25, 1 / 25e4
    warm = 0.3 * length
    if position < warm:
        return low + (1 - low) * (1 - _cosine(position, warm))
    return final + (1 - final) * _cosine(position - warm, length - warm)


def _step(position: float, length: float) -> float:
    """x0.1 at each third of ``length`` (StepLR)."""
    return 0.1 ** min(2, int(3 * position // length))


_SHAPES = {"cosine": _cosine, "onecycle": _one_cycle, "step": _step}
