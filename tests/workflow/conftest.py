"""Run the real workflow (Snakemake, DVC) in a throwaway copy of the project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

# What a user's checkout holds that the workflow and DVC read.
PROJECT_FILES = ["workflow", "config", "profiles", "src", "data", "dvc.yaml", ".dvcignore"]


class Project:
    """A copy of the repository in a temp dir, with helpers to run its tools."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env

    def run(self, *cmd: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(
            cmd, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
            )
        return result

    def snakemake(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("snakemake", *args, check=check)

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("dvc", *args, check=check)

    def set_config(self, **sections) -> None:
        """Update config/config.yaml in place (nested dicts merge one level deep)."""
        path = self.root / "config" / "config.yaml"
        config = yaml.safe_load(path.read_text())
        for key, value in sections.items():
            if isinstance(value, dict):
                config.setdefault(key, {}).update(value)
            else:
                config[key] = value
        path.write_text(yaml.safe_dump(config, sort_keys=False))

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)


def project_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    env["DVC_SITE_CACHE_DIR"] = str(tmp_path / "dvc-site-cache")
    env.setdefault("GIT_AUTHOR_NAME", "paretonas tests")
    env.setdefault("GIT_AUTHOR_EMAIL", "tests@paretonas.invalid")
    env["GIT_COMMITTER_NAME"] = env["GIT_AUTHOR_NAME"]
    env["GIT_COMMITTER_EMAIL"] = env["GIT_AUTHOR_EMAIL"]
    return env


def make_project(parent: Path) -> Project:
    """A fresh copy of the repository's workflow files under ``parent/project``."""
    root = parent / "project"
    root.mkdir()
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source,
                root / name,
                symlinks=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
            )
        elif source.exists():
            shutil.copy2(source, root / name)
    (root / ".dvc").mkdir()
    for name in ("config", ".gitignore"):
        shutil.copy2(REPO / ".dvc" / name, root / ".dvc" / name)
    shutil.copy2(REPO / ".gitignore", root / ".gitignore")
    return Project(root, project_env(parent))


def copy_project(project: Project, parent: Path) -> Project:
    """A copy of a project, results and Snakemake metadata included (mtimes kept)."""
    root = parent / "project"
    shutil.copytree(project.root, root, symlinks=True)
    return Project(root, project_env(parent))


def job_counts(dry_run_output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of ``snakemake -n``."""
    counts: dict[str, int] = {}
    lines = dry_run_output.splitlines()
    if "Job stats:" not in lines:
        return counts
    for line in lines[lines.index("Job stats:") + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)
