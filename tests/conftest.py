"""Shared fixtures: repository paths and small helpers to write YAML files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO / "config" / "models"


def paretonas(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess:
    """The `paretonas` console script as a user runs it (from the repository root, or
    ``cwd``); ``env``: variables to set on top of this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "paretonas", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def write_yaml(tmp_path: Path):
    """Write text to ``tmp_path/name`` and return the path."""

    def write(text: str, name: str = "model.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


# the `postgres`, `fresh_database` and `slurm` fixtures (real servers, started on demand)
pytest_plugins = ["tests.services.postgres", "tests.services.slurm"]
