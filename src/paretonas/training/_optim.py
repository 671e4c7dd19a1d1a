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
    optimizer: torch.optim.Optimizer, hparams: HParams, total_steps: int
) -> lr_scheduler.LRScheduler | None:
    """The schedule over ``total_steps`` optimizer steps (the budget); it steps after every
    batch, so the learning rate moves smoothly even within few epochs and a budget that stops
    part-way through an epoch ends the schedule with it. ``step`` decays by 0.1 at each third
    of the budget; ``none`` has no scheduler."""
    total_steps = max(1, total_steps)
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
