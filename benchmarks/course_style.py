"""The course-style search script, the baseline of B1: what a user writes without paretonas.

Faithful to the course write-ups (../shared/seeds): one process, one Optuna study with
directions (maximize F1, minimize params, minimize time), `study.optimize(objective)`, and
in the objective: sample a model and hyperparameters, build it, train a fixed number of
epochs with a per-sample torch ``DataLoader`` (a ``Dataset`` that converts and normalizes
one image at a time, as ``ToTensor()`` + ``Normalize()`` do), validate after every epoch and
keep the best F1, measure params and latency; no pruning, no pre-filter, torch's default
thread count. It samples the *same* search space through paretonas' space compiler and
builds models with the same builder, so only the search machinery differs.

``--sampler tpe`` is the course's choice (``TPESampler`` with Optuna's defaults);
``--sampler random`` is plain random search. Trial records are rewritten (atomically) after
every trial, so the benchmark may kill this process at its wall budget.

    python -m benchmarks.course_style --data DIR --space FILE --out trials.json \
        [--sampler tpe|random] [--seed 0] [--started EPOCH_SECONDS]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import optuna
import torch
from torch.nn import functional
from torch.utils.data import DataLoader, Dataset

from benchmarks.common import write_json
from paretonas.data import load_manifest, load_split
from paretonas.models import build_model, count_params
from paretonas.models.costs import measure_latency
from paretonas.search.space import DataShape, load_space
from paretonas.training import HParams, macro_f1, make_optimizer, make_scheduler


class ImageDataset(Dataset):
    """uint8 images, converted and normalized one sample at a time (ToTensor + Normalize)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean, std) -> None:
        self.images, self.labels = images, labels
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        image = self.images[index].float().div(255.0)
        return (image - self.mean) / self.std, int(self.labels[index])


def validate(model: torch.nn.Module, loader: DataLoader) -> float:
    model.eval()
    predictions, labels = [], []
    with torch.no_grad():
        for images, target in loader:
            predictions.append(model(images).argmax(1))
            labels.append(target)
    return macro_f1(torch.cat(labels), torch.cat(predictions))


def train(model, hparams: HParams, train_loader: DataLoader, val_loader: DataLoader) -> float:
    """Fixed epochs, validation after each; the best validation F1 (the course saved the
    best epoch's weights)."""
    optimizer = make_optimizer(model.parameters(), hparams)
    scheduler = make_scheduler(optimizer, hparams, hparams.budget_steps(len(train_loader)))
    best = 0.0
    for _ in range(hparams.epochs):
        model.train()
        for images, target in train_loader:
            optimizer.zero_grad()
            loss = functional.cross_entropy(
                model(images), target, label_smoothing=hparams.label_smoothing
            )
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        best = max(best, validate(model, val_loader))
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--space", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sampler", choices=["tpe", "random"], default="tpe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--started", type=float, default=None, help="launch time (epoch s)")
    args = parser.parse_args(argv)
    started = args.started or time.time()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning)

    manifest = load_manifest(args.data)
    mean, std = manifest["normalization"]["mean"], manifest["normalization"]["std"]
    train_set = ImageDataset(*load_split(args.data, "search/train"), mean, std)
    val_set = ImageDataset(*load_split(args.data, "search/val"), mean, std)
    shape = DataShape(tuple(manifest["input_shape"]), manifest["num_classes"])
    space = load_space(args.space)
    records: list[dict] = []

    def objective(trial: optuna.Trial) -> tuple[float, int, float]:
        sample = space.sample(trial, shape)
        hparams = HParams.from_dict(sample.hparams)
        model = build_model(sample.spec)
        train_loader = DataLoader(train_set, batch_size=hparams.batch_size, shuffle=True)
        val_loader = DataLoader(val_set, batch_size=hparams.batch_size)
        f1 = train(model, hparams, train_loader, val_loader)
        params = count_params(model)
        latency = measure_latency(model, model.input_shape, rounds=60).ms
        records.append(
            {
                "number": trial.number,
                "state": "complete",
                "f1": f1,
                "params": params,
                "t": time.time() - started,
            }
        )
        write_json(args.out, {"trials": records, "sampler": args.sampler})
        return f1, params, latency

    sampler = (
        optuna.samplers.TPESampler(seed=args.seed)
        if args.sampler == "tpe"
        else optuna.samplers.RandomSampler(seed=args.seed)
    )
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"], sampler=sampler)
    write_json(args.out, {"trials": records, "sampler": args.sampler})
    study.optimize(objective, n_trials=100_000)


if __name__ == "__main__":
    main()
