"""Per-stage code digests: an edit changes the digest of every stage that imports the edited
module (directly, inside a function, relatively, or through a package __init__) and no other."""

from __future__ import annotations

import shutil

import pytest

from paretonas import code_digest
from paretonas.code_digest import closure, stage_digest

MODULES = {
    "__init__.py": "from paretonas.errors import Oops\n",
    "errors.py": "class Oops(Exception): ...\n",
    "train/__init__.py": "from paretonas.train._loop import fit\n",
    "train/_loop.py": "def fit(): ...\n",
    "search.py": "from paretonas import train\n\ndef run():\n    from .store import open_it\n",
    "store.py": "import json\n",
    "select.py": "from paretonas.pareto import front\n",
    "pareto.py": "import numpy\n",
}


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "paretonas"
    for name, text in MODULES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_closure_follows_every_kind_of_import(package):
    assert closure("paretonas.search", root=package) == [
        "paretonas",
        "paretonas.errors",
        "paretonas.search",
        "paretonas.store",  # a relative import inside a function
        "paretonas.train",
        "paretonas.train._loop",  # through the package's __init__
    ]
    assert "paretonas.train" not in closure("paretonas.select", root=package)


@pytest.mark.parametrize(
    ("edited", "changes"),
    [
        ("train/_loop.py", {"search"}),
        ("store.py", {"search"}),
        ("pareto.py", {"select"}),
        ("errors.py", {"search", "select"}),  # everything imports the package's __init__
    ],
)
def test_an_edit_changes_exactly_the_stages_that_run_it(package, edited, changes):
    stages = {"search": "paretonas.search", "select": "paretonas.select"}
    before = {s: stage_digest(m, root=package) for s, m in stages.items()}
    path = package / edited
    path.write_text(path.read_text() + "# edited\n")
    after = {s: stage_digest(m, root=package) for s, m in stages.items()}
    assert {s for s in stages if before[s] != after[s]} == changes


def test_the_real_package_digest_is_stable_and_fast_to_import(tmp_path):
    assert stage_digest("paretonas.select") == stage_digest("paretonas.select")
    copy = tmp_path / "paretonas"
    shutil.copytree(code_digest.ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert stage_digest("paretonas.select", root=copy) == stage_digest("paretonas.select")
    source = (code_digest.ROOT / "code_digest.py").read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in imports if "paretonas" in line or "torch" in line]
