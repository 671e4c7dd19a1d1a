"""The course-style search worker, the baseline of B1: the course's method as it teaches it.

Faithful to the course write-ups (../shared/seeds), given every advantage paretonas has that
is not its own machinery: N such processes share one Optuna study in one SQLite file
(``optuna.create_study(storage=..., load_if_exists=True)`` and ``study.optimize``), with the
*same* TPE settings as paretonas' workers (multivariate, grouped, constant liar beside other
workers, 10 startup trials, a sampler seed from (seed, worker)), the *same* size budget as a
constraint (``trial.set_constraint``; a model over it is not trained, as a user with a hard
budget would do), one torch thread per process, the same search space (sampled through paretonas'
space compiler), the same builder and the same training budget in optimizer steps. What
stays the course's: the objective trains every trial to the end (no pruning) with a
per-sample torch ``DataLoader`` (a ``Dataset`` that converts and normalizes one image at a
time, as ``ToTensor()`` + ``Normalize()`` do), validates after every epoch, keeps the best
F1 and its weights, and measures latency in the trial.

Trial records (and each trial's best weights, in paretonas' checkpoint format, for the test
split) are written atomically after every trial, so the benchmark may kill this process at
its wall budget.

    python -m benchmarks.course_style --data DIR --space FILE --out trials.json \
        --storage sqlite:///study.db --study NAME [--worker 0 --workers 2] [--seed 0] \
        [--params-max 50000] [--started EPOCH_SECONDS]
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
from paretonas.search import archive
from paretonas.search.sampling import make_sampler
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


def train(
    model, hparams: HParams, train_loader: DataLoader, val_loader: DataLoader
) -> tuple[float, dict[str, torch.Tensor]]:
    """The budget's optimizer steps, validation after each epoch (and at the last step); the
    best validation F1 and a copy of its weights (the course saved the best epoch's)."""
    budget = hparams.budget_steps(len(train_loader))
    optimizer = make_optimizer(model.parameters(), hparams)
    scheduler = make_scheduler(optimizer, hparams, budget)
    best, best_state, step = -1.0, {}, 0
    while step < budget:
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
            step += 1
            if step == budget:
                break
        f1 = validate(model, val_loader)
        if f1 > best:
            best = f1
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return best, best_state


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--space", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="this worker's records (JSON)")
    parser.add_argument("--storage", required=True, help="the shared study's storage URL")
    parser.add_argument("--study", required=True, help="the shared study's name")
    parser.add_argument("--worker", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--params-max", type=int, default=None)
    parser.add_argument("--started", type=float, default=None, help="launch time (epoch s)")
    args = parser.parse_args(argv)
    started = args.started or time.time()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning)

    manifest = load_manifest(args.data)
    mean, std = manifest["normalization"]["mean"], manifest["normalization"]["std"]
    train_set = ImageDataset(*load_split(args.data, "search/train"), mean, std)
    val_set = ImageDataset(*load_split(args.data, "search/val"), mean, std)
    shape = DataShape(tuple(manifest["input_shape"]), manifest["num_classes"])
    space = load_space(args.space)
    weights_dir = args.out.parent / f"{args.out.stem}_weights"
    records: list[dict] = []

    def objective(trial: optuna.Trial) -> tuple[float, int, float]:
        sample = space.sample(trial, shape)
        hparams = HParams.from_dict(sample.hparams)
        model = build_model(sample.spec)
        params = count_params(model)
        excess = params - args.params_max if args.params_max is not None else 0
        trial.set_constraint("params", float(excess))
        record = {"number": trial.number, "params": params}
        if excess > 0:  # over the size budget: not trained (the constraint tells TPE)
            records.append({**record, "state": "complete", "infeasible": True})
            records[-1]["t"] = time.time() - started
            write_json(args.out, {"trials": records})
            return 0.0, params, 1e9  # never on the front: F1 0
        train_loader = DataLoader(train_set, batch_size=hparams.batch_size, shuffle=True)
        val_loader = DataLoader(val_set, batch_size=hparams.batch_size)
        f1, state = train(model, hparams, train_loader, val_loader)
        latency = measure_latency(model, model.input_shape, rounds=60).ms
        weights = archive.write_weights(
            weights_dir / str(trial.number), sample.spec, sample.hparams, state
        )
        records.append(
            {**record, "state": "complete", "f1": f1, "weights": str(weights)}
            | {"t": time.time() - started}
        )
        write_json(args.out, {"trials": records})
        return f1, params, latency

    sampler = make_sampler("tpe", args.seed, args.worker, 10, args.workers).base
    study = optuna.create_study(
        directions=["maximize", "minimize", "minimize"],
        sampler=sampler,
        storage=args.storage,
        study_name=args.study,
        load_if_exists=True,
    )
    write_json(args.out, {"trials": records})
    study.optimize(objective, n_trials=100_000)


if __name__ == "__main__":
    main()
