"""dvc.yaml's code deps cover what each phase runs: the same import closure that gives each
Snakemake rule its code digest (so DVC and Snakemake rerun on the same edits)."""

from __future__ import annotations

import pytest
import yaml

from paretonas.code_digest import closure
from tests.conftest import REPO

# DVC stage -> the package functions its Snakemake rules call (see workflow/scripts/)
PHASES = {
    "data": ["paretonas.data"],
    "search": ["paretonas.search.study", "paretonas.search.worker", "paretonas.search.snapshot"],
    "finalize": [
        "paretonas.profile",
        "paretonas.select",
        "paretonas.finalize",
        "paretonas.baseline",
    ],
    "report": ["paretonas.finalist_latency", "paretonas.reporting"],
}


def module_path(name: str) -> str:
    parts = name.split(".")
    base = REPO / "src" / "/".join(parts)
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("stage", sorted(PHASES))
def test_every_module_a_phase_imports_is_a_dep(stage):
    deps = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][stage]["deps"]
    modules = closure(*PHASES[stage], "paretonas.workflow_step")
    assert "paretonas.errors" in modules  # the closure is real (it follows imports)
    missing = [
        m
        for m in modules
        if not any(module_path(m) == d or module_path(m).startswith(d + "/") for d in deps)
    ]
    assert missing == []
    scripts = {d for d in deps if d.startswith("workflow/scripts/")}
    assert scripts and all((REPO / s).is_file() for s in scripts)


def test_closure_follows_imports_inside_functions_and_not_beyond():
    select = closure("paretonas.select")
    assert {"paretonas.pareto", "paretonas.search.attrs", "paretonas.objectives"} <= set(select)
    assert "paretonas.training" not in select  # selection never trains: no rerun on its edits
    worker = closure("paretonas.search.worker")
    assert "paretonas.training._loop" in worker  # via paretonas.training's __init__
    assert "paretonas.select" not in worker
