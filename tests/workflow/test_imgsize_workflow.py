"""The workflow on a generated RGB ImageFolder with the example space that searches the input
size, the augmentation policy and RMSprop: every finalist is profiled, retrained, tested and
exported at the size its trial drew."""

from __future__ import annotations

import csv
import json
import time

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
import yaml

from paretonas.search.archive import load_trial
from paretonas.search.study import open_study
from tests.conftest import REPO
from tests.data.conftest import write_imagefolder
from tests.workflow.conftest import make_project

pytestmark = pytest.mark.slow  # the real workflow: not in the fast loop

EXAMPLE = REPO / "config" / "examples" / "imgsize_augment_space.yaml"


def test_finalists_are_exported_at_their_own_img_size(tmp_path):
    project = make_project(tmp_path)
    write_imagefolder(project.path("data", "rgb"), per_class=16, sizes=((40, 40), (36, 44)))
    space = yaml.safe_load(EXAMPLE.read_text())
    space["hparams"]["steps"] = 8  # a tiny budget: this checks sizes, not accuracy
    project.path("config", "examples", "tiny.yaml").write_text(yaml.safe_dump(space))
    project.set_config(
        data={"source": "imagefolder", "path": "data/rgb", "img_size": 32},
        search={
            "space": "config/examples/tiny.yaml",
            "n_trials": 5,
            "workers": 1,
            "sampler": "random",
        },
        pruning={"mode": "off"},
        profile={"max_models": 5, "rounds": 20},
        select={"k": 2, "min_f1": 0.0, "min_relative_score": 0.0},
        finalize={"epochs": 1, "export": True},
    )
    started = time.perf_counter()
    # everything up to the finalists (the report is the default workflow test's business)
    project.snakemake(
        "--cores", "2", "results/finalists/1/metrics.json", "results/finalists/2/metrics.json"
    )
    wall = time.perf_counter() - started

    study = open_study(project.path("results", "search", "snapshot", "study.db"))
    sizes = {t.number: t.params["img_size"] for t in study.trials}
    assert len(set(sizes.values())) >= 2, sizes  # the search drew several sizes
    trials = project.path("results", "search", "snapshot", "trials")
    for number, size in sizes.items():  # each archive records the size its trial drew
        spec, hparams, _ = load_trial(trials / str(number))
        assert hparams["img_size"] == size and spec.input_size == (size, size)
    with project.path("results", "profile", "latency.csv").open() as handle:
        profiled = list(csv.DictReader(handle))
    assert profiled and all(
        row["input_shape"] == f"3x{sizes[int(row['trial'])]}x{sizes[int(row['trial'])]}"
        for row in profiled
    )

    finalists = yaml.safe_load(project.path("results", "select", "finalists.yaml").read_text())
    exported = {}
    for entry in finalists["finalists"]:
        out = project.path("results", "finalists", str(entry["rank"]))
        metrics = json.loads((out / "metrics.json").read_text())
        size = sizes[entry["trial"]]
        assert metrics["img_size"] == size and metrics["input_shape"] == [3, size, size]
        assert yaml.safe_load((out / "hparams.yaml").read_text())["img_size"] == size
        dims = onnx.load(str(out / "model.onnx")).graph.input[0].type.tensor_type.shape.dim
        assert [d.dim_value for d in dims[1:]] == [3, size, size]
        # TorchScript and ONNX are one model at that size: same outputs on the same input
        batch = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
        scripted = torch.jit.load(str(out / "model.ts"))(batch).detach().numpy()
        session = onnxruntime.InferenceSession(str(out / "model.onnx"))
        (from_onnx,) = session.run(None, {session.get_inputs()[0].name: batch.numpy()})
        np.testing.assert_allclose(scripted, from_onnx, atol=1e-4)
        exported[entry["trial"]] = size
    assert len(exported) == 2
    print(f"\nimg_size workflow: sizes {sizes}, finalists {exported}, {wall:.1f}s wall")
