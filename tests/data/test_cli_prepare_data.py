"""`paretonas prepare-data` as a user (and Snakemake) runs it."""

from __future__ import annotations

import json
import subprocess

from paretonas.data import SPLITS, load_manifest
from tests.conftest import REPO, paretonas


def prepare_data_cli(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return paretonas("prepare-data", *args, cwd=cwd)


def test_digits_writes_every_file(tmp_path):
    out_dir = tmp_path / "data"
    config = tmp_path / "config.yaml"
    config.write_text("data: {source: digits}\n")
    result = prepare_data_cli("--config", str(config), "--out", str(out_dir))
    assert result.returncode == 0, result.stderr
    for split in SPLITS:
        assert (out_dir / f"{split}.pt").is_file()
    assert load_manifest(out_dir)["counts"]["all"]["total"] == 1797
    assert "full/train 1258, full/val 180, full/test 359" in result.stderr


def test_default_out_is_results_dir_data(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("seed: 2\nresults_dir: res\ndata:\n  source: digits\n")
    result = prepare_data_cli("--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "res" / "data" / "manifest.json").read_text())["seed"] == 2


def test_bad_path_is_one_line_and_exit_2(tmp_path):
    missing = tmp_path / "missing"
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"data": {"source": "imagefolder", "path": str(missing)}}))
    result = prepare_data_cli("--config", str(config), "--out", str(tmp_path / "data"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"paretonas prepare-data: error: data.path: {missing}: no such directory"
    ]
    assert not (tmp_path / "data").exists()
