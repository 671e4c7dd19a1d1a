"""Search fixtures: prepared digits data (once per session) and small search configs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from paretonas.config import validate_config
from paretonas.data import prepare_data
from tests.conftest import REPO


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("digits") / "data"
    prepare_data(validate_config({}), out)
    return out


def fast_space(tmp_path: Path, epochs: int = 2, **model) -> Path:
    """The default space with short training (and optional model overrides)."""
    space = yaml.safe_load((REPO / "config" / "search_space.yaml").read_text())
    space["hparams"]["epochs"] = epochs
    space["model"].update(model)
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(space, sort_keys=False))
    return path


def search_config(tmp_path: Path, space: Path, **search) -> dict:
    config = {
        "results_dir": str(tmp_path / "results"),
        "search": {"space": str(space), "n_trials": 4, "workers": 1, "latency_runs": 20,
                   "n_startup_trials": 2, **search},
        "pruning": {"n_startup_trials": 2},
    }  # fmt: skip
    return validate_config(copy.deepcopy(config))
