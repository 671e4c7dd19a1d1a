"""Finalize: retrain an archived trial from its YAMLs alone, test once, export."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest
import torch
import yaml

from paretonas.finalize import FinalizeError, finalize, finalize_rank
from paretonas.search.archive import load_weights
from tests.search.conftest import fast_space, run_search, search_config


@pytest.fixture(scope="module")
def archived_trial(tmp_path_factory, digits_dir):
    tmp = tmp_path_factory.mktemp("finalize")
    config = search_config(tmp, fast_space(tmp), n_trials=1)
    report = run_search(config, digits_dir)
    return tmp / "results" / "search" / report["study"] / "trials" / "0"


def test_finalize_retrains_tests_and_exports(tmp_path, archived_trial, digits_dir):
    out = tmp_path / "finalist"
    metrics = finalize(archived_trial, digits_dir, out, epochs=3)
    assert {p.name for p in out.iterdir()} == {
        "model.yaml",
        "hparams.yaml",
        "weights.pt",
        "metrics.json",
        "model.ts",
        "model.onnx",
    }
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert metrics["test"]["samples"] == 359 and 0 <= metrics["test"]["accuracy"] <= 1
    assert len(metrics["test"]["confusion_matrix"]) == 10
    assert metrics["epochs"] == 3 and len(metrics["history"]) == 3
    assert yaml.safe_load((out / "hparams.yaml").read_text())["epochs"] == 3
    assert (out / "model.yaml").read_text() == (archived_trial / "model.yaml").read_text()
    assert metrics["exports"]["onnx"]["max_abs_diff"] <= 1e-4
    checkpoint = load_weights(out / "weights.pt")
    assert checkpoint["class_names"] == [str(i) for i in range(10)]
    assert checkpoint["test_accuracy"] == metrics["test"]["accuracy"]
    scripted = torch.jit.load(str(out / "model.ts"))
    assert scripted(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_finalize_refuses_an_archive_that_changed(tmp_path, archived_trial, digits_dir):
    copy = tmp_path / "trial"
    copy.mkdir()
    for name in ("model.yaml", "hparams.yaml", "metrics.json"):
        (copy / name).write_text((archived_trial / name).read_text())
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["costs"]["params"] += 1
    (copy / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(FinalizeError, match="does not describe the searched network"):
        finalize(copy, digits_dir, tmp_path / "out", epochs=1, export=False)
    with pytest.raises(FinalizeError, match="not a trial archive"):
        finalize(tmp_path, digits_dir, tmp_path / "out", epochs=1, export=False)
    del metrics["costs"]
    (copy / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(FinalizeError, match=r"no costs\.params recorded"):
        finalize(copy, digits_dir, tmp_path / "out", epochs=1, export=False)
    assert not (tmp_path / "out").exists()


def test_an_empty_slot_is_a_record_and_nothing_is_trained(tmp_path, digits_dir):
    finalists = tmp_path / "finalists.yaml"
    why = "no finalist: only 1 trial(s) reach select.min_f1 = 0.280, chance 0.100"
    finalists.write_text(
        yaml.safe_dump({"finalists": [{"rank": 2, "trial": None, "why": why, "advice": "more"}]})
    )
    metrics = finalize_rank(finalists, 2, digits_dir, tmp_path / "2", epochs=1)
    assert metrics["trial"] is None and metrics["empty"] == why and metrics["advice"] == "more"
    assert json.loads((tmp_path / "2" / "metrics.json").read_text()) == metrics
    assert sorted(p.name for p in (tmp_path / "2").iterdir()) == ["metrics.json"]


def test_finalize_cli_on_any_archived_trial(tmp_path, archived_trial, digits_dir):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"finalize": {"epochs": 1, "export": False}}))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "paretonas",
            "finalize",
            "--config",
            str(config),
            "--trial",
            str(archived_trial),
            "--data",
            str(digits_dir),
            "--out",
            str(tmp_path / "f"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "f" / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["exports"] == {"skipped": "config"}


EPOCH_LINE = re.compile(
    r"^trial 0: epoch (\d+)/12 \(step (\d+)/(\d+)\): train loss ([\d.]+), val F1 ([\d.]+), "
    r"([\d.]+)s$"
)


def test_finalize_logs_every_epoch(tmp_path, archived_trial, digits_dir, caplog):
    # 12 epochs: fit evaluates a budget over 10 epochs 10 times (here part-way through epochs);
    # finalize adds every epoch's end, and logs each evaluation
    with caplog.at_level("INFO", logger="paretonas.finalize"):
        metrics = finalize(archived_trial, digits_dir, tmp_path / "f", epochs=12, export=False)
    lines = [EPOCH_LINE.match(r.getMessage()) for r in caplog.records]
    lines = [m for m in lines if m]
    history, steps = metrics["history"], metrics["steps"]
    assert len(lines) == len(history) >= 12
    epoch_ends = {epoch * steps // 12 for epoch in range(1, 13)}
    assert epoch_ends <= {int(m[2]) for m in lines}
    for match, record in zip(lines, history, strict=True):
        assert int(match[1]) == record["epoch"] and int(match[2]) == record["step"]
        assert record["epoch"] == math.ceil(record["step"] * 12 / steps) and int(match[3]) == steps
        assert match[4] == f"{record['train_loss']:.4f}" and match[5] == f"{record['val_f1']:.4f}"
        assert match[6] == f"{record['seconds']:.1f}"
    best = max(range(len(history)), key=lambda i: (history[i]["val_f1"], -i))
    assert metrics["best_epoch"] == best + 1
