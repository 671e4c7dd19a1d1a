"""Hostile inputs, one row per case of issue [5/5] (round 2) fixed so far: each runs the
`paretonas` console script as a user would and asserts the exit code, one line on stderr
naming the file, row or flag and the value, no traceback, and no output on stdout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import MODELS_DIR, paretonas

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
