"""The `paretonas` console script as a user runs it."""

from __future__ import annotations

import json

from tests.conftest import MODELS_DIR, paretonas


def test_model_info_json_mobilenet_v3_large():
    result = paretonas(
        "model-info", str(MODELS_DIR / "mobilenet_v3_large.yaml"), "--json", "--rounds", "20"
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["params"] == 5_483_032
    assert abs(info["macs"] / 216.6e6 - 1) < 0.03
    assert info["output_shape"] == [1000]
    assert info["latency_ms"] > 0 and info["latency"]["rounds"] == 20
    assert len(info["layers"]) == 19


def test_model_info_table_at_another_size():
    result = paretonas("model-info", str(MODELS_DIR / "lenet_28.yaml"), "--no-latency")
    assert result.returncode == 0, result.stderr
    assert "params     80,250" in result.stdout
    assert "MaxPool" in result.stdout and "16x24x24" in result.stdout
    result = paretonas(
        "model-info", str(MODELS_DIR / "show_case.yaml"), "--img-size", "64", "--no-latency"
    )
    assert "input      3x64x64" in result.stdout


def test_bad_yaml_prints_one_line_and_exits_nonzero(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "input_channel: 3\ndepth_multiple: 1.0\nwidth_multiple: 1.0\n"
        "backbone:\n  - [1, Conv, [8]]\n  - [1, Conv5, [8]]\n"
    )
    result = paretonas("model-info", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"paretonas model-info: error: {path}: backbone[1] (line 6)")
    assert "Traceback" not in result.stderr
    debug = paretonas("model-info", str(path), "--debug")
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_python_tag_refused_from_cli(tmp_path):
    sentinel = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f'!!python/object/apply:os.system ["touch {sentinel}"]\n')
    result = paretonas("model-info", str(path))
    assert result.returncode == 2 and "refused" in result.stderr
    assert not sentinel.exists()
