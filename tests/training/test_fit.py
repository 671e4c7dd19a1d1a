"""fit on digits: it learns, is deterministic, runs every optimizer and schedule, stops on
request, restores the best epoch and reports divergence."""

from __future__ import annotations

import json
import math

import pytest
import torch

from paretonas.errors import ConfigError
from paretonas.training import (
    OPTIMIZERS,
    SCHEDULES,
    Augment,
    HParams,
    Precision,
    Split,
    TrainingDiverged,
    _loop,
    _tensors,
    evaluate,
    fit,
    make_optimizer,
    make_scheduler,
    resolve_device,
)

FAST = HParams(epochs=2, lr=1e-2, batch_size=64)


def figures(result) -> list[tuple]:
    """The history without wall-clock times."""
    return [
        (r.epoch, r.train_loss, r.val_loss, r.val_accuracy, r.val_f1, r.lr) for r in result.history
    ]


def test_learns_digits(digits, make_model):
    train, val, mean, std = digits
    model = make_model()
    result = fit(model, train, val, HParams(epochs=4, lr=1e-2, batch_size=32), mean=mean, std=std)
    assert [r.epoch for r in result.history] == [1, 2, 3, 4]
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert result.best_val_f1 == max(r.val_f1 for r in result.history)
    assert result.history[result.best_epoch - 1].val_accuracy > 0.9
    assert not result.stopped and result.stop_reason is None
    assert result.samples_per_second > 0 and result.seconds > 0
    evaluation = evaluate(model, val, mean=mean, std=std, device="cpu")
    assert evaluation.accuracy == result.history[result.best_epoch - 1].val_accuracy
    assert evaluation.f1_macro == result.best_val_f1
    json.dumps(result.to_dict())


def test_same_seed_same_numbers_and_weights(digits, make_model):
    train, val, mean, std = digits
    hparams = HParams(epochs=2, lr=5e-3, batch_size=50, label_smoothing=0.1)
    augment = Augment(random_crop_padding=1, horizontal_flip=True)
    runs = []
    for _ in range(2):
        model = make_model(seed=3, dropout=0.2)
        torch.manual_seed(1234)  # fit must not depend on (or disturb) the caller's global RNG
        result = fit(model, train, val, hparams, mean=mean, std=std, augment=augment, seed=7)
        runs.append((figures(result), model.state_dict(), torch.rand(1)))
    (history_a, weights_a, after_a), (history_b, weights_b, _) = runs
    assert history_a == history_b
    assert weights_a.keys() == weights_b.keys()
    for name in weights_a:
        assert torch.equal(weights_a[name], weights_b[name]), name
    torch.manual_seed(1234)
    assert torch.equal(after_a, torch.rand(1))  # the caller's RNG stream is untouched
    other = fit(
        make_model(seed=3, dropout=0.2),
        train,
        val,
        hparams,
        mean=mean,
        std=std,
        augment=augment,
        seed=8,
    )
    assert figures(other) != history_a


def test_per_batch_normalization_gives_the_same_numbers(digits, make_model, monkeypatch):
    train, val, mean, std = digits
    augment = Augment(random_crop_padding=2, horizontal_flip=True)
    runs = []
    for budget in (_tensors.PRENORMALIZE_MAX_BYTES, 0):  # 0: nothing fits, stay uint8
        monkeypatch.setattr(_tensors, "PRENORMALIZE_MAX_BYTES", budget)
        result = fit(make_model(), train, val, FAST, mean=mean, std=std, augment=augment)
        runs.append((figures(result), result.best_state))
    assert runs[0][0] == runs[1][0]
    for name, value in runs[0][1].items():
        assert torch.equal(value, runs[1][1][name]), name


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_optimizer_and_schedule_trains(digits, make_model, optimizer, schedule):
    train, val, mean, std = digits
    lr = {"sgd": 0.05, "rmsprop": 1e-3}.get(optimizer, 5e-3)
    hparams = HParams(
        optimizer=optimizer,
        schedule=schedule,
        lr=lr,
        epochs=3,
        batch_size=128,
        weight_decay=1e-4,
        nesterov=optimizer == "sgd",
    )
    result = fit(make_model(), train, val, hparams, mean=mean, std=std)
    lrs = [r.lr for r in result.history]
    assert all(math.isfinite(r.train_loss) for r in result.history)
    assert result.history[-1].val_accuracy > 0.5
    if schedule == "none":
        assert lrs == [lr] * 3
    elif schedule == "step":  # ceil(3 / 3) = 1: x0.1 every epoch
        assert lrs == pytest.approx([lr, lr * 0.1, lr * 0.01])
    elif schedule == "cosine":
        assert lrs[0] == lr and lrs[0] > lrs[1] > lrs[2] > 0
    else:  # onecycle warms up from lr / 25 over the first 30% of the steps
        assert lrs[0] == pytest.approx(lr / 25) and max(lrs) > lrs[0]


def test_on_eval_can_stop_training(digits, make_model):
    train, val, mean, std = digits
    seen = []

    def prune(record):
        seen.append(record.epoch)
        return "pruned at epoch 2" if record.epoch == 2 else None

    result = fit(make_model(), train, val, HParams(epochs=5), mean=mean, std=std, on_eval=prune)
    assert seen == [1, 2] and len(result.history) == 2
    assert result.stopped and result.stop_reason == "pruned at epoch 2"


def test_best_epoch_is_restored_and_ties_keep_the_earlier(digits, make_model, monkeypatch):
    train, val, mean, std = digits
    scripted = iter([0.5, 0.9, 0.7, 0.9])  # epoch 2 ties epoch 4: 2 wins
    monkeypatch.setattr(_loop, "macro_f1", lambda labels, predictions: next(scripted))
    model = make_model()
    snapshots = {}

    def snapshot(record):
        snapshots[record.epoch] = {k: v.clone() for k, v in model.state_dict().items()}

    hparams = HParams(epochs=4, lr=1e-2, schedule="none")
    result = fit(model, train, val, hparams, mean=mean, std=std, on_eval=snapshot)
    assert result.best_epoch == 2 and result.best_val_f1 == 0.9
    final = model.state_dict()
    for name, value in result.best_state.items():
        assert value.device.type == "cpu"
        assert torch.equal(final[name], value), name
        assert torch.equal(snapshots[2][name], value), name
    weight = "0.0.weight"
    assert not torch.equal(snapshots[4][weight], result.best_state[weight])


def test_huge_learning_rate_diverges(digits, make_model):
    # BatchNorm models tend to stay finite (huge but finite losses); a plain MLP overflows.
    train, val, mean, std = digits
    hparams = HParams(optimizer="sgd", lr=1e10, momentum=0.0, schedule="none", epochs=3)
    with pytest.raises(TrainingDiverged, match=r"loss (nan|inf) at epoch 1, batch \d+ of 22"):
        fit(make_model(mlp=True), train, val, hparams, mean=mean, std=std)


def test_nan_weight_diverges_at_the_first_batch(digits, make_model):
    train, val, mean, std = digits
    model = make_model()
    with torch.no_grad():
        model[-1].weight[0, 0] = float("nan")
    with pytest.raises(TrainingDiverged, match=r"loss nan at epoch 1, batch 1 of 22"):
        fit(model, train, val, FAST, mean=mean, std=std)


def test_last_batch_of_one_sample_is_skipped(digits, make_model):
    train, val, mean, std = digits
    small = Split(train.images[:65], train.labels[:65])  # 64 + 1: BatchNorm needs 2 samples
    result = fit(make_model(), small, val, FAST, mean=mean, std=std)
    assert len(result.history) == 2


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_cuda_style_precision_runs_on_cpu(digits, make_model, monkeypatch, dtype):
    """The CUDA branch (autocast, GradScaler for float16, channels_last), exercised on CPU."""
    train, val, mean, std = digits
    cuda_like = classmethod(lambda cls, device: cls(device, dtype, torch.channels_last))
    monkeypatch.setattr(Precision, "for_device", cuda_like)
    model = make_model()
    augment = Augment(random_crop_padding=1)
    result = fit(model, train, val, FAST, mean=mean, std=std, augment=augment)
    assert all(math.isfinite(r.train_loss) for r in result.history)
    assert result.history[-1].val_accuracy > 0.5
    assert model[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    assert all(value.is_contiguous() for value in result.best_state.values())


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    with pytest.raises(ConfigError, match="device: 'tpu'"):
        resolve_device("tpu")


def test_a_budget_in_steps_stops_part_way_through_an_epoch(digits, make_model):
    train, val, mean, std = digits  # 22 steps an epoch at batch 64
    hparams = HParams(steps=30, epochs=99, lr=1e-2, batch_size=64, schedule="cosine")
    result = fit(make_model(), train, val, hparams, mean=mean, std=std)
    assert result.steps == result.budget_steps == 30
    assert [(r.epoch, r.step) for r in result.history] == [(1, 22), (2, 30)]
    # the last segment starts at step 22 of a cosine over 30 steps (not over 99 epochs)
    cosine = 0.5 * (1 + math.cos(math.pi * 22 / 30))
    assert result.history[-1].lr == pytest.approx(hparams.lr * cosine)


def test_evaluations_at_requested_steps_do_not_change_the_training(digits, make_model):
    train, val, mean, std = digits
    hparams = HParams(steps=40, lr=1e-2, batch_size=64)
    plain_model, probed_model = make_model(), make_model()
    probed_model.load_state_dict(plain_model.state_dict())
    plain = fit(plain_model, train, val, hparams, mean=mean, std=std, seed=3)
    probed = fit(
        probed_model, train, val, hparams, mean=mean, std=std, seed=3, eval_steps=[5, 13, 22, 90]
    )
    assert [r.step for r in plain.history] == [22, 40]
    assert [r.step for r in probed.history] == [5, 13, 22, 40]  # 90 is past the budget
    assert plain.history[-1].val_f1 == probed.history[-1].val_f1
    for name, value in plain_model.state_dict().items():
        assert torch.equal(value, probed_model.state_dict()[name]), name


def test_a_long_budget_is_evaluated_a_bounded_number_of_times(digits, make_model):
    train, val, mean, std = digits  # 22 steps an epoch: 300 steps is ~14 epochs
    hparams = HParams(steps=300, lr=1e-2, batch_size=64)
    result = fit(make_model(), train, val, hparams, mean=mean, std=std, eval_steps=[7])
    steps = [r.step for r in result.history]
    assert steps[0] == 7 and steps[-1] == 300
    assert len(steps) == _loop.EVALUATIONS + 1


@pytest.mark.parametrize("schedule", ["cosine", "onecycle", "step"])
def test_rung_aware_schedules_anneal_at_every_restart(schedule):
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    hparams = HParams(optimizer="sgd", lr=1.0, schedule=schedule)
    scheduler = make_scheduler(optimizer, hparams, 90, restarts=[10, 30])
    lrs = []
    for _ in range(90):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    for start, end in ((0, 10), (10, 30), (30, 90)):
        segment = lrs[start:end]
        assert max(segment) == pytest.approx(1.0, abs=0.02)  # each segment reaches the peak
        assert segment[-1] < 0.15  # and has annealed by its end (the rung)
    plain = make_scheduler(torch.optim.SGD(model.parameters(), lr=1.0), hparams, 90)
    assert type(plain).__name__ != "LambdaLR"  # no rungs: torch's own schedulers, unchanged


def test_rmsprop_is_built_with_its_hyperparameters():
    model = torch.nn.Linear(3, 2)
    hparams = HParams.from_dict(
        {"optimizer": "rmsprop", "lr": 0.01, "momentum": 0.5, "alpha": 0.9, "weight_decay": 1e-4}
    )
    optimizer = make_optimizer(model.parameters(), hparams)
    assert isinstance(optimizer, torch.optim.RMSprop)
    group = optimizer.param_groups[0]
    assert (group["lr"], group["momentum"], group["alpha"], group["weight_decay"]) == (
        0.01,
        0.5,
        0.9,
        1e-4,
    )


def test_fit_trains_and_evaluates_at_img_size(digits):
    """Both splits are shrunk to ``img_size`` once; a model built for 4x4 trains on them."""
    from paretonas.models import ModelSpec, build_model

    train, val, mean, std = digits
    spec = ModelSpec.from_dict(
        {
            "input_channel": 1,
            "depth_multiple": 1.0,
            "width_multiple": 1.0,
            "input_size": [4, 4],
            "backbone": [[1, "Conv", [8, 3, 1]], [1, "Flatten", []], [1, "Linear", [10]]],
        }
    )
    torch.manual_seed(0)
    model = build_model(spec)  # Flatten + Linear: takes 4x4 inputs only
    result = fit(model, train, val, HParams(epochs=2, lr=1e-2, img_size=4), mean=mean, std=std)
    assert result.history[-1].val_accuracy > 0.3
    small = val.resized(4)
    evaluation = evaluate(model, small, mean=mean, std=std, device="cpu")
    assert evaluation.accuracy == result.history[result.best_epoch - 1].val_accuracy
    with pytest.raises(RuntimeError):  # at the stored 8x8 the model does not even run
        fit(build_model(spec), train, val, HParams(epochs=1), mean=mean, std=std)


def test_validation_is_never_augmented(digits, make_model):
    """fit's val figures are evaluate()'s on the plain split, whatever the policy does to
    training batches (a 6-pixel cutout hides most of an 8x8 digit)."""
    train, val, mean, std = digits
    policy = Augment(random_crop_padding=2, horizontal_flip=True, color_jitter=0.5, cutout=6)
    model = make_model()
    hparams = HParams(epochs=2, lr=1e-2, augment=policy)
    result = fit(model, train, val, hparams, mean=mean, std=std)
    evaluation = evaluate(model, val, mean=mean, std=std, device="cpu")
    best = result.history[result.best_epoch - 1]
    assert (evaluation.accuracy, evaluation.f1_macro) == (best.val_accuracy, best.val_f1)
    plain = fit(make_model(), train, val, HParams(epochs=2, lr=1e-2), mean=mean, std=std)
    assert figures(plain) != figures(result)  # the policy did change the training
