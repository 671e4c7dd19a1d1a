"""Made-up studies and select/finalists outputs for the report tests (real SQLite storage)."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import numpy as np
import optuna
import yaml
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from paretonas.config import validate_config
from paretonas.objectives import parse_objectives
from paretonas.search.storage import StorageInfo
from paretonas.search.study import StudyRecord, write_record
from paretonas.select import write_selection

optuna.logging.set_verbosity(optuna.logging.WARNING)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
THREE = [{"name": "f1"}, {"name": "params"}, {"name": "latency_ms"}]
ACCURACIES = {1: 0.9312, 2: 0.8875, 3: 0.8421}
CLASSES = [str(i) for i in range(10)]


def make_config(tmp_path: Path, objective_list: list[dict] | None = None) -> dict:
    return validate_config(
        {
            "results_dir": str(tmp_path / "results"),
            "search": {"objectives": objective_list or THREE},
        }
    )


def _params(rng: random.Random) -> tuple[dict, dict]:
    block = rng.choice(["Conv", "DWConv", "Pass"])
    params = {
        "stem/out_channels": rng.choice([8, 16, 24, 32]),
        "m1": block,
        "lr": 10 ** rng.uniform(-4, -2),
        "head_dropout": rng.choice([0.0, 0.2]),
    }
    dists = {
        "stem/out_channels": IntDistribution(8, 32, step=8),
        "m1": CategoricalDistribution(["Conv", "DWConv", "Pass"]),
        "lr": FloatDistribution(1e-4, 1e-2, log=True),
        "head_dropout": CategoricalDistribution([0.0, 0.2]),
    }
    if block == "Conv":  # a conditional parameter, as the real spaces have
        params["m1/Conv/kernel_size"] = rng.choice([1, 3, 5])
        dists["m1/Conv/kernel_size"] = IntDistribution(1, 5, step=2)
    return params, dists


def make_study(
    config: dict,
    n_complete: int = 20,
    n_pruned: int = 3,
    n_failed: int = 2,
    n_infeasible: int = 2,
    seed: int = 0,
) -> tuple[optuna.Study, Path]:
    """A real SQLite study under results/search/<name> with made-up trials, and its study.json
    (written as the search stage writes it)."""
    name = f"paretonas-test{seed}"
    study_dir = Path(config["results_dir"]) / "search" / name
    study_dir.mkdir(parents=True)
    url = f"sqlite:///{study_dir / 'study.db'}"
    objectives = parse_objectives(config["search"]["objectives"])
    study = optuna.create_study(
        study_name=name, storage=url, directions=[o.direction for o in objectives]
    )
    with warnings.catch_warnings():  # set_metric_names is "experimental"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([o.name for o in objectives])
    rng = random.Random(seed)
    kinds = ["complete"] * n_complete + ["pruned"] * n_pruned + ["fail"] * n_failed
    kinds += ["infeasible"] * n_infeasible
    rng.shuffle(kinds)
    for number, kind in enumerate(kinds):
        params, dists = _params(rng)
        size = rng.randint(2_000, 90_000)
        values = [
            min(0.99, 0.55 + 0.4 * size / 90_000 + rng.uniform(-0.08, 0.08)),
            size,
            size / 30_000 + rng.uniform(0.05, 0.4),
        ][: len(objectives)]
        attrs = {
            "archive": f"{study_dir}/trials/{number:05d}",
            "config_hash": f"made-up-{number}",
            "costs": {
                "params": size,
                "macs": size * 40,
                "latency_ms": size / 30_000,
                "model_bytes": size * 4,
            },
        }
        kw: dict = {}
        if kind == "complete":
            attrs["val_f1_curve"] = [values[0] * 0.8, values[0]]
            kw = {"values": values}
        elif kind == "infeasible":
            attrs["infeasible"] = f"infeasible: params {size} > 1000"
            kw = {"values": [0.0, *values[1:]], "constraints": {"params": size - 1000.0}}
        elif kind == "pruned":
            attrs["prune_reason"] = "dominated at epoch 2"
            kw = {"state": TrialState.PRUNED, "intermediate_values": {1: 0.3}}
        else:
            attrs["fail_reason"] = "RuntimeError: made up"
            kw = {"state": TrialState.FAIL}
        study.add_trial(create_trial(params=params, distributions=dists, user_attrs=attrs, **kw))
    study_json = study_dir.parent / "study.json"
    record = StudyRecord(name, study_dir, StorageInfo("sqlite", url, url, True), objectives, {})
    write_record(record, study_json)
    return study, study_json


def make_finalists(
    tmp_path: Path, study: optuna.Study, config: dict, k: int = 3
) -> tuple[Path, list[Path], dict]:
    """finalists.yaml as the select stage writes it (the real one; rank 1's reason gets a "|"
    to test escaping) and a made-up metrics.json per finalist."""
    finalists_yaml = tmp_path / "select" / "finalists.yaml"
    record = write_selection(study, k, tmp_path / "select" / "pareto.csv", finalists_yaml)
    record["finalists"][0]["why"] += " | made up"
    finalists_yaml.write_text(yaml.safe_dump(record, sort_keys=False))
    metrics = []
    for item in record["finalists"]:
        rank = item["rank"]
        confusion = (np.eye(10, dtype=int) * 30 + (np.arange(100).reshape(10, 10) % 3)).tolist()
        data = {
            "rank": rank,
            "trial": item["trial"],
            "archive": item["archive"],
            "search": {"values": item["values"], "val_f1": 0.9 - rank / 100},
            "test": {
                "accuracy": ACCURACIES[rank],
                "f1_macro": ACCURACIES[rank] - 0.01,
                "loss": 0.3,
                "per_class": {},
                "confusion_matrix": confusion,
                "class_names": CLASSES,
            },
            "params": 1000 * rank,
            "macs": 40_000 * rank,
            "latency_ms": 0.5 * rank,
            "best_epoch": 3,
            "epochs": 4,
            "exports": {},
            "seconds": 1.0,
        }
        path = tmp_path / "finalists" / str(rank) / "metrics.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
        metrics.append(path)
    return finalists_yaml, metrics, record


def check_png(path: Path) -> None:
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_MAGIC, path
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100, (path, image.shape)


FIGURES = [
    "pareto_front",
    "hypervolume",
    "history_f1",
    "history_params",
    "history_latency_ms",
    "param_importances",
    "parallel_coordinate",
]
