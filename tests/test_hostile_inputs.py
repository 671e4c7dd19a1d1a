"""Hostile inputs, one row per case of issue [5/5] (round 2): each runs the `paretonas` console
script (or Snakemake) as a user would and asserts the exit code, one line on stderr naming the
file, row or flag and the value, no traceback, and nothing half-written or leaked. The exact
trial count with 8 workers is tests/search/test_load.py (SQLite, journal) and
tests/search/test_postgres.py (PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import MODELS_DIR, REPO, paretonas
from tests.data.conftest import write_idx, write_imagefolder
from tests.workflow.conftest import make_project

HEAD = "backbone:\n  - [1, GlobalAvgPool, []]\n  - [1, Flatten, []]\n  - [1, Linear, [6]]\n"


def model(width: str = "1.0", first: str = "[1, Conv, [16, 3, 2]]") -> str:
    return (
        f"input_channel: 3\ndepth_multiple: 1.0\nwidth_multiple: {width}\n"
        f"backbone:\n  - {first}\n" + HEAD.split("\n", 1)[1]
    )


# (case, model YAML text or None for a zoo model, extra flags, what the line must contain)
CASES = [
    (
        "1: width_multiple 1e6 allocates nothing",
        model("1000000.0"),
        ["--no-latency"],
        ["backbone[0] (line 5)", "GiB, past the ceiling", "nothing was allocated"],
    ),
    (
        "2: a repeat of 10**9 does not hang",
        model(first="[1000000000, Conv, [16, 3, 1]]"),
        ["--no-latency"],
        ["backbone[0] (line 5)", "repeat 1000000000", "ceiling of 1000"],
    ),
    ("3: --img-size -3", None, ["--img-size", "-3"], ["--img-size", "got -3"]),
    ("7: 1e6 is a string in YAML", model("1e6"), [], ["width_multiple", "'1e6'", "1.0e+06"]),
    ("8: --img-size 0 names the flag", None, ["--img-size", "0"], ["--img-size", "got 0"]),
    ("9: --rounds 5", None, ["--rounds", "5"], ["--rounds", "got 5"]),
]


@pytest.mark.parametrize(("case", "text", "flags", "needles"), CASES, ids=[c[0] for c in CASES])
def test_model_info_refuses_in_one_line(tmp_path: Path, case, text, flags, needles):
    path = MODELS_DIR / "show_case.yaml"
    if text is not None:
        path = tmp_path / "model.yaml"
        path.write_text(text)
    result = paretonas("model-info", str(path), *flags)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("paretonas model-info: error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def test_the_size_ceilings_come_from_the_environment():
    """Case 1's ceiling is documented and movable: $PARETONAS_MAX_PARAMS lowers (or raises) it,
    and a value that is not a positive number is named."""
    path = str(MODELS_DIR / "show_case.yaml")
    low = paretonas("model-info", path, "--no-latency", env={"PARETONAS_MAX_PARAMS": "1000"})
    line = one_line_error(low, "model-info", "past the ceiling of 1,000 ($PARETONAS_MAX_PARAMS")
    assert "nothing was allocated" in line
    bad = paretonas("model-info", path, "--no-latency", env={"PARETONAS_MAX_PARAMS": "lots"})
    one_line_error(bad, "model-info", "$PARETONAS_MAX_PARAMS: expected a positive whole number")


def test_a_kernel_larger_than_its_map_is_a_warning(tmp_path: Path):
    """Case 6: mobilenet_v3_small at 4x4 builds (it is legal), but says where kernels run on
    maps smaller than themselves."""
    result = paretonas(
        "model-info", str(MODELS_DIR / "mobilenet_v3_small.yaml"), "--img-size", "4",
        "--no-latency",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert warnings and all("larger than its" in line for line in warnings)
    assert any("kernel_size 5 is larger than its 1x1 input map" in line for line in warnings)
    quiet = paretonas(
        "model-info", str(MODELS_DIR / "mobilenet_v3_small.yaml"), "--no-latency"
    )  # 224x224: no kernel is larger than its map
    assert "larger than its" not in quiet.stderr


SECRET = "s3cret-Pa55"
# (case, $PARETONAS_STORAGE, what the line must contain)
STORAGE_CASES = [
    ("4: no scheme", f"optuna:{SECRET}@db-host:5432/optuna", ["$PARETONAS_STORAGE", "***@db-host"]),
    (
        "12: a refused port",
        f"postgresql://optuna:{SECRET}@127.0.0.1:1/optuna",
        ["postgresql://optuna:***@127.0.0.1:1/optuna", "cannot open the study's storage"],
    ),
    (
        "13: a port that is not a number",
        f"postgresql://optuna:{SECRET}@localhost:54x2/optuna",
        ["$PARETONAS_STORAGE: malformed URL", "optuna:***@localhost:54x2"],
    ),
]


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    """The default data, prepared once: what `search-study` needs besides a storage."""
    from paretonas.config import default_config
    from paretonas.data import prepare_data

    out = tmp_path_factory.mktemp("digits") / "data"
    prepare_data(default_config(), out)
    return out


def storage_error(tmp_path: Path, data: Path, url: str) -> subprocess.CompletedProcess:
    out = tmp_path / "search" / "study.json"
    result = paretonas(
        "search-study", "--config", "config/config.yaml", "--data", str(data), "--out", str(out),
        env={"PARETONAS_STORAGE": url},
    )  # fmt: skip
    assert not out.exists()  # nothing half-written
    return result


@pytest.mark.parametrize(
    ("case", "url", "needles"), STORAGE_CASES, ids=[c[0] for c in STORAGE_CASES]
)
def test_storage_errors_are_one_line_without_the_password(tmp_path, digits, case, url, needles):
    result = storage_error(tmp_path, digits, url)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("paretonas search-study: error: "), result.stderr
    assert "Traceback" not in result.stderr and SECRET not in result.stderr + result.stdout
    assert len([line for line in lines if "error" in line]) == 1, result.stderr
    for needle in needles:
        assert needle in lines[-1], (needle, lines[-1])


@pytest.mark.slow
def test_a_wrong_password_on_a_real_server_is_one_line_at_once(tmp_path, digits, fresh_database):
    """Case 12 against PostgreSQL: authentication fails for good, so no retries either."""
    user, rest = fresh_database.split("://", 1)[1].split(":", 1)
    wrong = f"postgresql://{user}:{SECRET}@{rest.split('@', 1)[1]}"
    result = storage_error(tmp_path, digits, wrong)
    assert result.returncode == 2, result.stderr
    assert "password authentication failed" in result.stderr.strip().splitlines()[-1]
    assert "retrying" not in result.stderr and SECRET not in result.stderr
    assert "Traceback" not in result.stderr


def one_line_error(result: subprocess.CompletedProcess, verb: str, *needles: str) -> str:
    """The run failed with exit 2 and one error line holding every needle; returns it."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith(f"paretonas {verb}: error: "), result.stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


def write_config(path: Path, **sections) -> Path:
    path.write_text(yaml.safe_dump(sections, sort_keys=False))
    return path


def leftovers(directory: Path) -> list[str]:
    """Staging or temp entries (dot-names) a run left in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_case_5_a_single_class_is_refused(tmp_path):
    source = write_imagefolder(tmp_path / "one", classes={"cat": (200, 30, 30)})
    config = write_config(tmp_path / "c.yaml", data={"source": "imagefolder", "path": str(source)})
    out = tmp_path / "results" / "data"
    result = paretonas("prepare-data", "--config", str(config), "--out", str(out))
    one_line_error(result, "prepare-data", f"data.path: {source}", "1 class(es) ['cat']")
    assert not out.parent.exists()  # refused before anything was made


def test_case_10_a_misspelled_top_level_key_is_one_line_in_snakemake_too(tmp_path):
    project = make_project(tmp_path)
    (project.root / "typo.yaml").write_text("serach:\n  n_trials: 3\n")
    result = project.snakemake("-n", "--configfile", "typo.yaml", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "serach: unknown key; did you mean 'search'? Known keys here: data, " in output
    assert len(output.splitlines()) <= 6, output  # not the 859-line schema dump
    assert "properties" not in output and not project.path("results").exists()
    cli = paretonas("prepare-data", "--config", str(project.root / "typo.yaml"))
    one_line_error(cli, "prepare-data", "typo.yaml: serach: unknown key; did you mean 'search'?")


def test_case_11_an_impossible_constraint_is_named_and_advised(tmp_path, digits):
    """params_max: 1: every trial is infeasible; the worker's lines name the limit, and select
    advises raising it (not more trials, which would break it too)."""
    config = write_config(
        tmp_path / "c.yaml",
        results_dir=str(tmp_path / "results"),
        search={"n_trials": 3, "workers": 1, "constraints": {"params_max": 1}},
    )
    study = tmp_path / "results" / "search" / "study.json"
    started = paretonas("search-study", "--config", str(config), "--data", str(digits),
                        "--out", str(study))  # fmt: skip
    assert started.returncode == 0, started.stderr
    worker = paretonas("search-worker", "--config", str(config), "--study", str(study),
                       "--data", str(digits), "--worker-id", "0")  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    lines = [line for line in worker.stderr.splitlines() if " infeasible " in line]
    assert len(lines) == 3, worker.stderr
    assert all("> search.constraints.params_max = 1" in line for line in lines), lines
    out = tmp_path / "select"
    chosen = paretonas("select", "--config", str(config), "--study", str(study), "--out", str(out))
    assert chosen.returncode == 0, chosen.stderr
    slot = yaml.safe_load((out / "finalists.yaml").read_text())["finalists"][0]
    assert slot["trial"] is None
    assert "3 trial(s) broke search.constraints.params_max" in slot["why"]
    assert slot["advice"].startswith("raise search.constraints.params_max or offer smaller")
    assert "n_trials" not in slot["advice"]


SPACE = (REPO / "config" / "search_space.yaml").read_text()
# (case, search space text, what the line must contain)
SPACE_CASES = [
    (
        "14: modules: {}",
        SPACE[: SPACE.index("  modules:")]
        + "  modules: {}\n"
        + SPACE[SPACE.index("  head_dropout") :],
        ["model.modules: no module to choose from; list at least one"],
    ),
    (
        "15: Linear offered to a slot",
        SPACE.replace("    Pass: {}\n", "    Pass: {}\n    Linear:\n      out_features: 10\n"),
        ["model.modules.Linear: cannot stand in a slot", "add GlobalAvgPool and Flatten"],
    ),
]


@pytest.mark.parametrize(("case", "text", "needles"), SPACE_CASES, ids=[c[0] for c in SPACE_CASES])
def test_a_space_that_cannot_search_is_refused_before_any_trial(tmp_path, case, text, needles):
    space = tmp_path / "space.yaml"
    space.write_text(text)
    config = write_config(tmp_path / "c.yaml", search={"space": str(space)})
    out = tmp_path / "search" / "study.json"
    result = paretonas(
        "search-study", "--config", str(config), "--data", str(tmp_path / "none"), "--out", str(out)
    )  # fmt: skip  (the space is checked before the data)
    line = one_line_error(result, "search-study", f"{space}: ", *needles)
    assert line.count(str(space)) == 1  # named once
    assert not out.parent.exists()


def test_case_16_files_that_are_not_images_are_skipped_with_one_warning(tmp_path):
    source = write_imagefolder(tmp_path / "shapes")
    for folder in source.iterdir():
        (folder / "README.txt").write_text("taken in 2024\n")
    config = write_config(tmp_path / "c.yaml", data={"source": "imagefolder", "path": str(source)})
    result = paretonas("prepare-data", "--config", str(config), "--out", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, result.stderr
    assert "skipped 6 file(s) that are not images (not counted as unreadable)" in warnings[0]
    manifest = yaml.safe_load((tmp_path / "data" / "manifest.json").read_text())
    assert manifest["bad_file_count"] == 0 and manifest["counts"]["all"]["total"] == 72


def test_case_17_a_stray_idx_label_is_refused_with_values_and_counts(tmp_path):
    source = tmp_path / "idx"
    source.mkdir()
    labels = np.array([*range(10)] * 5 + [200] * 3)
    write_idx(source / "t-images-idx3-ubyte", 0x803, np.zeros((len(labels), 6, 6)))
    write_idx(source / "t-labels-idx1-ubyte", 0x801, labels)
    config = write_config(tmp_path / "c.yaml", data={"source": "idx", "path": str(source)})
    out = tmp_path / "data"
    result = paretonas("prepare-data", "--config", str(config), "--out", str(out))
    one_line_error(
        result,
        "prepare-data",
        "data.label_values: ",
        "t-labels-idx1-ubyte: unexpected label value(s) 200 (3 images)",
        "the others are 0..9",
    )
    assert not out.exists()


def big_idx(directory: Path, n: int = 60_000) -> Path:
    """An MNIST-sized IDX pair (60,000 images 28x28): its splits take a second to write, long
    enough to interrupt prepare-data while it writes them."""
    directory.mkdir()
    rng = np.random.default_rng(0)
    write_idx(directory / "b-images-idx3-ubyte", 0x803, rng.integers(0, 256, (n, 28, 28)))
    write_idx(directory / "b-labels-idx1-ubyte", 0x801, np.arange(n) % 10)
    return directory


@pytest.fixture(scope="module")
def big_source(tmp_path_factory) -> Path:
    return big_idx(tmp_path_factory.mktemp("big") / "idx")


STEP = """
import sys, yaml
from paretonas.data import prepare_data
from paretonas.workflow_step import run_step
run_step(sys.argv[1], prepare_data, yaml.safe_load(open(sys.argv[2])), sys.argv[3])
"""


@pytest.mark.parametrize("how", ["cli", "workflow step"])
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_case_18_an_interrupt_is_one_line_and_leaves_nothing(
    tmp_path, big_source, signum, code, how
):
    """Interrupted while it writes the splits (its staging folder exists), prepare-data removes
    the staging folder, keeps the previous output as it was, and says so in one line: run by
    hand, or as the rule's script (Snakemake stops a job with SIGTERM)."""
    config = write_config(tmp_path / "c.yaml", data={"source": "idx", "path": str(big_source)})
    out = tmp_path / "data"
    out.mkdir()
    (out / "manifest.json").write_text("{}\n")  # a previous output, to be kept as it was
    log = tmp_path / "logs" / "prepare_data.log"
    log.parent.mkdir()
    if how == "cli":
        command = [sys.executable, "-m", "paretonas", "prepare-data", "--config", str(config)]
        command += ["--out", str(out)]
    else:
        command = [sys.executable, "-c", STEP, str(log), str(config), str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not [n for n in leftovers(tmp_path) if n.endswith(".tmp")]:
        assert process.poll() is None and time.monotonic() < deadline, "never staged"
        time.sleep(0.005)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    text = stderr if how == "cli" else log.read_text()
    assert "Traceback" not in text + stderr and stdout == ""
    name = signal.Signals(signum).name
    last = text.strip().splitlines()[-1]
    if how == "cli":
        assert (
            last == f"paretonas prepare-data: interrupted ({name}); nothing half-written was left"
        )
    else:
        assert last.endswith(
            f"ERROR paretonas.step: interrupted ({name}); nothing half-written was left"
        )
    assert leftovers(tmp_path) == []
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    assert (out / "manifest.json").read_text() == "{}\n"


def test_case_18_a_killed_run_is_swept_by_the_next(tmp_path, digits):
    """SIGKILL leaves the staging folder; the next run removes it (its process is gone) and
    keeps another live process's."""
    import socket

    host = socket.gethostname().split(".")[0]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".data.{host}.{dead.pid}.0badc0de.tmp"
    live = tmp_path / f".data.{host}.{os.getppid()}.0badc0de.tmp"
    for folder in (stale, live):
        (folder / "full").mkdir(parents=True)
    result = paretonas("prepare-data", "--config", "config/config.yaml", "--out",
                       str(tmp_path / "data"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "removed 1 staging folder(s) an interrupted run left" in result.stderr
    assert not stale.exists() and live.exists()


def test_case_19_prepared_folders_get_normal_permissions(tmp_path):
    result = paretonas("prepare-data", "--config", "config/config.yaml", "--out",
                       str(tmp_path / "data"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    umask = os.umask(0)
    os.umask(umask)
    for folder in (tmp_path / "data", tmp_path / "data" / "full", tmp_path / "data" / "search"):
        assert folder.stat().st_mode & 0o777 == 0o777 & ~umask, folder
    for file in (tmp_path / "data").rglob("*.*"):
        assert file.stat().st_mode & 0o777 == 0o666 & ~umask, file
