"""Hostile YAML, one row per case and entry point: the `paretonas` console script and real
`snakemake -n --configfile` (its own config loading, before any Snakefile code, goes through
the package's reader by the `paretonas-guard.pth` startup hook). Each row asserts the exact
line printed, the exit status, no traceback, nothing run and nothing written."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import paretonas
from tests.workflow.conftest import Project, make_project

MODEL = "input_channel: 3\ndepth_multiple: 1.0\nwidth_multiple: 1.0\n"
ROWS = "backbone:\n  - [1, Conv, [16, 3, 2]]\n  - [1, GlobalAvgPool, []]\n  - [1, Linear, [6]]\n"


def bomb(key: str) -> str:
    """Nine levels of ``&x [*w, *w, ...]`` under ``key``: 9**9 values once expanded."""
    text = f"{key}:\n  - &a [{', '.join(['lol'] * 9)}]\n"
    for alias, anchor in itertools.pairwise("abcdefghi"):
        text += f"  - &{anchor} [{', '.join(['*' + alias] * 9)}]\n"
    return text


COMMAND = '"os").system("touch PWNED")'
YTE = f"__use_yte__: true\nseed: ?__import__({COMMAND})\n"
REFUSED = "a config file holds data only, nothing in it is run"
EXPAND = "aliases expand this value to 66,430 values, more than 10,000 beyond the {} written"
DEEP = "nested deeper than 100 levels; refused"
CUT = repr(list(range(5000)))[:197] + "..."  # a value is shown up to 200 characters
TAG = "'tag:yaml.org,2002:python/object/apply:os.system'; only plain YAML data is accepted"

# (case, entry point, file name, file content, the exact line: after "error: " for the CLI,
# a line of its own for snakemake; {root} is the project's directory)
CASES = [
    ("1 alias bomb in a config", "status", "bomb.yaml", bomb("seed"),
     f"bomb.yaml (line 6): {EXPAND.format(21)} (an alias bomb?); refused"),
    ("1 alias bomb in a config", "snakemake", "bomb.yaml", bomb("seed"),
     f"bomb.yaml (line 6): {EXPAND.format(21)} (an alias bomb?); refused"),
    ("1 a long value is cut in the message", "status", "long.yaml",
     f"seed: {list(range(5000))}\n",
     f"long.yaml: seed: {CUT} is not of type 'integer'"),
    ("1 a long value is cut in the message", "snakemake", "long.yaml",
     f"seed: {list(range(5000))}\n",
     "config/config.yaml + {root}/long.yaml: seed: " + CUT + " is not of type 'integer'"),
    ("2 alias bomb in a model", "model-info", "bomb_model.yaml", MODEL + bomb("input_size") + ROWS,
     f"bomb_model.yaml (line 9): {EXPAND.format(45)} (an alias bomb?); refused"),
    ("2 a long value is cut in the message", "model-info", "long_model.yaml",
     MODEL + f"input_size: {list(range(5000))}\n" + ROWS,
     "long_model.yaml: input_size: expected a positive integer or [height, width], got " + CUT),
    ("3 YTE code in a config", "snakemake", "yte.yaml", YTE,
     f"yte.yaml: __use_yte__: True: YTE templates are refused; {REFUSED}"),
    ("3 YTE code in a config", "status", "yte.yaml", YTE,
     f"yte.yaml: __use_yte__: True: YTE templates are refused; {REFUSED}"),
    ("3 a ?expression alone", "snakemake", "expr.yaml", f"seed: ?__import__({COMMAND})\n",
     f"expr.yaml: seed: '?__import__({COMMAND})' is a YTE template expression; it is refused, "
     f"{REFUSED}"),
    ("4 duplicate keys", "snakemake", "dup.yaml", "search:\n  n_trials: 3\nsearch:\n  workers: 1\n",
     "dup.yaml (line 3): duplicate key 'search' (first on line 1)"),
    ("4 duplicate keys", "status", "dup.yaml", "search:\n  n_trials: 3\nsearch:\n  workers: 1\n",
     "dup.yaml (line 3): duplicate key 'search' (first on line 1)"),
    ("5 20,000-deep model", "model-info", "deep_model.yaml",
     MODEL + "backbone: " + "[" * 20_000 + "]" * 20_000 + "\n",
     f"deep_model.yaml (line 4): {DEEP}"),
    ("5 20,000-deep config", "snakemake", "deep.yaml", "seed: " + "[" * 20_000 + "]" * 20_000,
     f"deep.yaml (line 1): {DEEP}"),
    ("6 not UTF-8", "snakemake", "latin.yaml", "seed: 1\nresults_dir: caf\xe9\n",
     "latin.yaml (line 2): not UTF-8 text (byte 0xe9); save the file as UTF-8"),
    ("6 not UTF-8", "status", "latin.yaml", "seed: 1\nresults_dir: caf\xe9\n",
     "latin.yaml (line 2): not UTF-8 text (byte 0xe9); save the file as UTF-8"),
    ("6 a Python tag", "snakemake", "tag.yaml",
     'seed: !!python/object/apply:os.system ["touch PWNED"]\n',
     f"tag.yaml (line 1): refused: could not determine a constructor for the tag {TAG}"),
    ("6 a Python tag", "status", "tag.yaml",
     'seed: !!python/object/apply:os.system ["touch PWNED"]\n',
     f"tag.yaml (line 1): refused: could not determine a constructor for the tag {TAG}"),
    ("a 5,000-digit integer", "status", "bigint.yaml", f"seed: {'1' * 5000}\n",
     "bigint.yaml (line 1): an integer written with 5,000 characters, more digits than Python "
     "reads"),
    ("a 5,000-digit integer", "snakemake", "bigint.yaml", f"seed: {'1' * 5000}\n",
     "bigint.yaml (line 1): an integer written with 5,000 characters, more digits than Python "
     "reads"),
    ("legitimate aliases are read", "status", "ok.yaml",
     "search:\n  n_trials: &n 6\n  n_startup_trials: *n\n",
     "results/search/study.json: no such file (run the search stage first)"),
]  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    return make_project(tmp_path_factory.mktemp("yaml"))


def run(project: Project, entry: str, name: str) -> subprocess.CompletedProcess:
    if entry == "snakemake":
        return project.snakemake("-n", "--configfile", name, check=False)
    flag = ["--configfile"] if entry == "status" else []
    return paretonas(entry, *flag, name, cwd=project.root, timeout=60)


@pytest.mark.parametrize(
    ("case", "entry", "name", "text", "line"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES]
)
def test_hostile_yaml_is_one_line(project, case, entry, name, text, line):
    path = project.path(name)
    path.write_bytes(text.encode("latin-1" if "latin" in name else "utf-8"))
    result = run(project, entry, name)  # the bombs would take minutes: timeout=60 fails them
    output = result.stdout + result.stderr
    line = line.format(root=project.root)
    assert "Traceback" not in output, output
    assert not project.path("PWNED").exists() and not project.path("results").exists()
    if entry == "snakemake":
        assert result.returncode == 1, output
        assert line in output.splitlines(), output
        assert len(output.splitlines()) <= 5, output
    else:
        assert result.returncode == 2, output
        assert result.stderr.splitlines() == [f"paretonas {entry}: error: {line}"], output


def test_legitimate_aliases_pass_through_snakemake(project):
    project.path("ok.yaml").write_text("search:\n  n_trials: &n 6\n  n_startup_trials: *n\n")
    result = project.snakemake("-n", "--configfile", "ok.yaml")
    assert "search_worker          2" in result.stdout


GUARD_OFF = (
    "import sys; sys.meta_path[:] = [f for f in sys.meta_path"
    " if type(f).__module__ != 'paretonas_guard']; from snakemake.cli import main; main()"
)


def test_without_the_startup_hook_the_workflow_still_refuses_yte(project):
    """The second line of defence: where the hook is missing (a Snakemake from another
    environment), YTE runs the expression, and common.smk then stops the run in one line."""
    project.path("late.yaml").write_text("__use_yte__: true\nseed: ?6 * 7\n")
    result = project.run(
        sys.executable, "-c", GUARD_OFF, "-n", "--configfile", "late.yaml", check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"late.yaml: __use_yte__: True: YTE templates are refused; {REFUSED}" in output
    assert "Traceback" not in output and not project.path("results").exists()


def test_the_startup_hook_is_installed_in_this_environment():
    """`make setup` (pip install -e) wrote the .pth line that installs the hook at startup."""
    assert any(type(f).__module__ == "paretonas_guard" for f in sys.meta_path)
    pth = [Path(p) / "paretonas-guard.pth" for p in sys.path if p.endswith("site-packages")]
    assert any(p.is_file() for p in pth), pth
