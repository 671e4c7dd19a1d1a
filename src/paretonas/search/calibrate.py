"""How long a trial takes on this machine: train a few models drawn from the space for a few
dozen steps on real images, as a worker does (one torch thread, the search's device), and
time the optimizer steps and the evaluations apart, so a budget can be scaled from them.

It is an estimate: the models are a handful of random draws (TPE later favours cheaper ones,
pruning stops some trials early), and workers running side by side share memory bandwidth.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from dataclasses import dataclass

import numpy as np
import optuna
import torch

from paretonas.data import channel_stats
from paretonas.errors import SearchError
from paretonas.models import build_model, forward_counts
from paretonas.search.space import DataShape, SearchSpace
from paretonas.training import HParams, Split, TrainingDiverged, fit, macro_f1, resolve_device
from paretonas.training._loop import EVALUATIONS

_logger = logging.getLogger(__name__)

VAL_IMAGES = 128  # images each calibration evaluation scores
EPOCH_STEPS = 3  # calibration epochs are this many steps: fit evaluates (and may stop) after each


@dataclass(frozen=True)
class Calibration:
    """Seconds per optimizer step and per evaluated image, averaged over ``models`` models
    drawn from the space, each trained ``steps`` steps with one torch thread on ``device``."""

    models: int
    steps: int  # the most steps a model trained (fewer for a slow one: ``max_seconds``)
    step_seconds: float  # mean over the models (each at its own sampled batch size)
    eval_image_seconds: float  # one validation image, in an evaluation pass
    device: str
    seconds: float  # wall time of the whole calibration
    setup_seconds: float = 0.0  # a trial's work besides training: sample, build, count costs

    def trial_seconds(self, steps: int, steps_per_epoch: int, val_images: int) -> float:
        """A trial of ``steps`` optimizer steps with evaluations as ``fit`` places them (each
        epoch's end, at most ``EVALUATIONS``, plus the last step and a pruning rung), and its
        setup."""
        evaluations = min(math.ceil(steps / max(steps_per_epoch, 1)), EVALUATIONS) + 1
        return (
            self.setup_seconds
            + steps * self.step_seconds
            + evaluations * val_images * self.eval_image_seconds
        )

    def describe(self) -> str:
        """How it was measured, in a line."""
        return (
            f"{self.models} models drawn from the space, up to {self.steps} training steps each, "
            f"one torch thread on {self.device}: {self.step_seconds * 1000:.1f} ms a step, "
            f"{self.eval_image_seconds * 1e6:.0f} us an evaluated image, "
            f"{self.setup_seconds * 1000:.0f} ms a trial's setup "
            f"(measured in {self.seconds:.1f} s)"
        )


def calibrate(
    space: SearchSpace,
    images: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    *,
    models: int = 3,
    steps: int = 30,
    max_seconds: float = 3.0,
    seed: int = 0,
    device: str = "auto",
) -> Calibration:
    """Time ``models`` random draws of ``space`` on ``images`` (uint8 N x C x H x W) for
    ``steps`` steps each, or fewer (in epochs of ``EPOCH_STEPS``) once a model has trained for
    ``max_seconds``: a large draw then costs seconds, not minutes. A draw whose training
    diverges is replaced (up to ``models`` more)."""
    started = time.perf_counter()
    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8))
    targets = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))
    shape = DataShape(tuple(tensor.shape[1:]), num_classes)  # type: ignore[arg-type]
    mean, std = channel_stats(tensor)
    std = [s if s > 0 else 1.0 for s in std]
    resolved = resolve_device(device)
    previous_threads = torch.get_num_threads()
    previous_verbosity = optuna.logging.get_verbosity()
    torch.set_num_threads(1)  # as a worker runs
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    macro_f1([0, 1], [0, 1])  # a worker imports scikit-learn once, not in a timed evaluation
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    rng = np.random.default_rng(seed)
    step_times: list[float] = []
    eval_times: list[float] = []
    setup_times: list[float] = []
    try:
        for attempt in range(2 * models):
            if len(step_times) == models:
                break
            setup_started = time.perf_counter()
            sample = space.sample(study.ask(), shape)
            hparams = HParams.from_dict({**sample.hparams, "steps": steps})
            # epochs of exactly EPOCH_STEPS full batches, evaluated at each end (fit's rule for
            # a budget of at most 10 epochs), where the time limit is checked
            samples = EPOCH_STEPS * hparams.batch_size
            rows = torch.from_numpy(rng.integers(0, len(targets), size=samples))
            train = Split(tensor[rows], targets[rows])
            val = Split(tensor[:VAL_IMAGES], targets[:VAL_IMAGES])
            torch.manual_seed(seed + attempt)
            model = build_model(sample.spec)
            forward_counts(model, model.input_shape)  # as a trial counts its costs
            setup = time.perf_counter() - setup_started
            fit_started = time.perf_counter()

            def out_of_time(_record, since=fit_started) -> str | None:
                return "time" if time.perf_counter() - since > max_seconds else None

            try:
                result = fit(
                    model,
                    train,
                    val,
                    hparams,
                    mean=mean,
                    std=std,
                    seed=seed,
                    device=resolved,
                    on_eval=out_of_time,
                )
            except TrainingDiverged:
                _logger.debug("calibration: a draw diverged; drawing another")
                continue
            train_seconds = result.steps * hparams.batch_size / result.samples_per_second
            total = sum(record.seconds for record in result.history)
            step_times.append(train_seconds / result.steps)
            setup_times.append(setup)
            eval_times.append(max(total - train_seconds, 0.0) / len(val) / len(result.history))
            _logger.debug(
                "calibration: model %d (batch %d): %.1f ms a step",
                len(step_times),
                hparams.batch_size,
                step_times[-1] * 1000,
            )
    finally:
        torch.set_num_threads(previous_threads)
        optuna.logging.set_verbosity(previous_verbosity)
    if not step_times:
        raise SearchError(
            f"calibration: every one of {2 * models} models drawn from {space.source} "
            "diverged in training; check the space's learning rates"
        )
    return Calibration(
        models=len(step_times),
        steps=steps,
        step_seconds=statistics.fmean(step_times),
        eval_image_seconds=statistics.fmean(eval_times),
        device=str(resolved),
        seconds=time.perf_counter() - started,
        setup_seconds=statistics.fmean(setup_times),
    )
