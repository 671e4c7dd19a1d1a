"""Search fixtures: prepared digits data (once per session), small search configs, and the
search stage run in process (the study started as the workflow starts it, one worker)."""

from __future__ import annotations

import copy
from pathlib import Path

import optuna
import pytest
import yaml

from paretonas.cli.search_study import start_from_config
from paretonas.config import validate_config
from paretonas.data import prepare_data
from paretonas.search.study import open_study
from paretonas.search.worker import WorkerOptions, run_worker
from tests.conftest import REPO


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("digits") / "data"
    prepare_data(validate_config({}), out)
    return out


def fast_space(tmp_path: Path, epochs: int = 2, steps: int | None = None, **model) -> Path:
    """The default space with short training, ``epochs`` or ``steps`` (and optional model
    overrides)."""
    space = yaml.safe_load((REPO / "config" / "search_space.yaml").read_text())
    space["hparams"].pop("steps", None)
    space["hparams"]["epochs"] = epochs
    if steps is not None:
        space["hparams"]["steps"] = steps
    space["model"].update(model)
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    return path


def search_config(tmp_path: Path, space: Path, **search) -> dict:
    config = {
        "results_dir": str(tmp_path / "results"),
        "search": {
            "space": str(space),
            "n_trials": 4,
            "workers": 1,
            "n_startup_trials": 2,
            **search,
        },
        "pruning": {"n_startup_trials": 2},
    }
    return validate_config(copy.deepcopy(config))


def study_json(config: dict) -> Path:
    """Where the workflow keeps study.json for this config."""
    return Path(config["results_dir"]) / "search" / "study.json"


def start(config: dict, data_dir: Path) -> Path:
    """Start the study of ``config`` as the workflow's first search step does; its study.json."""
    start_from_config(config, study_json(config), data_dir)
    return study_json(config)


def run_search(config: dict, data_dir: Path, worker_id: int = 0) -> dict:
    """Start (or find) the study of ``config`` and run one worker on it; its report."""
    record = start_from_config(config, study_json(config), data_dir)
    return run_worker(record, data_dir, worker_id, WorkerOptions.from_config(config))


def load(config: dict) -> optuna.Study:
    """The study of ``config``, through the one door every reader uses."""
    return open_study(study_json(config))
