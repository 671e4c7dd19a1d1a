"""Optimizer and learning-rate schedule from HParams."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch.optim import lr_scheduler

from paretonas.training._config import HParams


def make_optimizer(
    parameters: Iterable[torch.nn.Parameter], hparams: HParams
) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD (momentum, optional Nesterov); weight decay on every parameter."""
    params = [p for p in parameters if p.requires_grad]
    if hparams.optimizer == "adam":
        return torch.optim.Adam(params, lr=hparams.lr, weight_decay=hparams.weight_decay)
    if hparams.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=hparams.lr, weight_decay=hparams.weight_decay)
    return torch.optim.SGD(
        params,
        lr=hparams.lr,
        momentum=hparams.momentum,
        nesterov=hparams.nesterov,
        weight_decay=hparams.weight_decay,
    )


def make_scheduler(
    optimizer: torch.optim.Optimizer, hparams: HParams, steps_per_epoch: int
) -> tuple[lr_scheduler.LRScheduler | None, bool]:
    """The schedule and whether it steps after every batch (True) or every epoch (False).

    ``cosine`` and ``onecycle`` are defined over optimizer steps, so they step per batch and
    the learning rate moves smoothly even within few epochs; ``step`` decays by 0.1 at each
    third of the epochs, so it steps per epoch; ``none`` has no scheduler.
    """
    total_steps = hparams.epochs * steps_per_epoch
    if hparams.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps), True
    if hparams.schedule == "onecycle":
        # cycle_momentum=False: momentum (or Adam's beta1) stays what HParams says.
        schedule = lr_scheduler.OneCycleLR(
            optimizer, max_lr=hparams.lr, total_steps=total_steps, cycle_momentum=False
        )
        return schedule, True
    if hparams.schedule == "step":
        step_size = math.ceil(hparams.epochs / 3)
        return lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=0.1), False
    return None, False
