"""The plain-CNN baseline: archived and retrained as a finalist is (the space's fixed
augmentation, finalize's budget and early stopping), tested once, shown in the report."""

from __future__ import annotations

import json

import yaml

from paretonas.baseline import CHANNELS, train_baseline
from paretonas.models import ModelSpec, build_model, count_params
from paretonas.reporting._baseline import baseline_section
from paretonas.reporting._inputs import FinalistRow
from tests.conftest import REPO


def test_baseline_trains_tests_and_is_reported(tmp_path, digits_dir):
    space = yaml.safe_load((REPO / "config" / "search_space.yaml").read_text())
    space["hparams"]["augment"] = {"random_crop_padding": 1, "cutout": {"int": [0, 2]}}
    space_path = tmp_path / "space.yaml"
    space_path.write_text(yaml.safe_dump(space))
    out = tmp_path / "baseline"
    metrics = train_baseline(space_path, digits_dir, out, seed=0, epochs=3)
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert metrics["trial"] == "baseline" and metrics["exports"] == {"skipped": "config"}
    spec = ModelSpec.from_yaml(out / "model.yaml")
    assert [row.args[0] for row in spec.backbone[:3]] == list(CHANNELS)
    assert metrics["params"] == count_params(build_model(spec))
    assert metrics["test"]["samples"] == 359
    assert metrics["test"]["accuracy"] > 0.3  # 3 epochs of digits: far above chance (0.1)
    # the space's fixed augmentation key is kept, the searched one is not
    assert metrics["hparams"]["augment"]["random_crop_padding"] == 1
    assert metrics["hparams"]["augment"]["cutout"] == 0
    assert metrics["epochs"] == 3 and len(metrics["history"]) <= 3

    accuracy = metrics["test"]["accuracy"]
    rows = [
        FinalistRow(rank=1, trial=4, test_accuracy=accuracy + 0.01),
        FinalistRow(rank=2, trial=None),
        FinalistRow(rank=3, trial=9, test_accuracy=accuracy - 0.01),
    ]
    text = "\n".join(baseline_section(out / "metrics.json", rows))
    assert text.startswith("## Baseline\n\nA plain 3-conv CNN trained as the finalists are")
    assert f"test accuracy **{accuracy:.4f}**" in text
    assert f"finalists above it on test accuracy: #1 ({accuracy + 0.01:.4f})." in text
