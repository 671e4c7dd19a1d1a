"""Fixtures of the hostile-input tests (and the search tests' prepared digits)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.search.conftest import digits_dir  # noqa: F401  (the session's prepared digits)


@pytest.fixture
def project(tmp_path) -> Path:
    """A working directory laid out as the repository root, as `paretonas init` needs."""
    (tmp_path / "config").mkdir()
    shutil.copy2(REPO / "config" / "search_space.yaml", tmp_path / "config")
    return tmp_path
