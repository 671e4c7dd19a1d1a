"""Search workers end to end (in process): study identity, continuation, reproducibility,
the per-trial archive, the zero-cost pre-filter, deduplication and failure isolation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import torch
import yaml
from optuna.trial import TrialState

import paretonas.search.objective as objective_module
from paretonas.cli.search_study import start_from_config
from paretonas.models import ModelSpec, build_model, count_params
from paretonas.reporting._report import pruning_note
from paretonas.search import attrs
from paretonas.search.archive import load_trial, load_weights
from paretonas.search.pruning import shadow_summary
from paretonas.search.study import create_study, read_record
from tests.search.conftest import fast_space, load, run_search, search_config, study_json


def test_identity_and_continuation(tmp_path, digits_dir):
    space = fast_space(tmp_path)
    config = search_config(tmp_path, space, n_trials=3)
    first = run_search(config, digits_dir)
    assert first["study_states"]["complete"] + first["study_states"]["pruned"] == 3
    assert len(first["trials"]) == 3

    more = search_config(tmp_path, space, n_trials=5)  # a larger budget: same study
    second = run_search(more, digits_dir)
    assert second["study"] == first["study"]
    assert [t["number"] for t in second["trials"]] == [3, 4]  # only the extra trials ran

    again = run_search(more, digits_dir)  # nothing left to do
    assert again["trials"] == [] and again["study"] == first["study"]

    changed = search_config(tmp_path, fast_space(tmp_path, epochs=3), n_trials=2)
    assert run_search(changed, digits_dir)["study"] != first["study"]
    other_seed = search_config(tmp_path, space, n_trials=2)
    other_seed["seed"] = 1
    elsewhere = tmp_path / "other" / "study.json"
    assert start_from_config(other_seed, elsewhere, digits_dir).name != first["study"]
    record = json.loads(
        (tmp_path / "results" / "search" / first["study"] / "study.json").read_text()
    )
    assert record["name"] == first["study"] and record["storage"]["kind"] == "sqlite"
    assert record["hashed"]["seed"] == 0 and "space" in record["hashed"]
    assert record["objectives"] == [
        ["f1", "maximize"],
        ["params", "minimize"],
        ["latency_ms", "minimize"],
    ]  # the copy inside the study dir


def test_same_seed_same_trials(tmp_path, digits_dir):
    # With the default objectives (latency included): TPE takes over after 2 startup trials
    # and sees only deterministic values (the search's latency is an estimate), so it replays.
    runs = []
    for name in ("a", "b"):
        config = search_config(tmp_path / name, fast_space(tmp_path), n_trials=5)
        assert [o["name"] for o in config["search"]["objectives"]] == ["f1", "params", "latency_ms"]
        run_search(config, digits_dir)
        runs.append(load(config).trials)
    for one, two in zip(*runs, strict=True):
        assert one.params == two.params
        assert one.state == two.state
        assert attrs.get(one, attrs.CURVE) == attrs.get(two, attrs.CURVE)
        if one.values:
            assert one.values == two.values


def test_every_trial_is_archived_and_rebuildable(tmp_path, digits_dir):
    config = search_config(tmp_path, fast_space(tmp_path), n_trials=4)
    run_search(config, digits_dir)
    study = load(config)
    for trial in study.trials:
        spec, hparams, metrics = load_trial(attrs.get(trial, attrs.ARCHIVE))
        assert metrics["number"] == trial.number and metrics["state"] in {"complete", "pruned"}
        assert {"cpu", "cores", "torch"} <= set(metrics["hardware"])
        model = build_model(spec)  # from model.yaml alone
        assert count_params(model) == metrics["costs"]["params"]
        assert hparams["epochs"] == 2
        if trial.state == TrialState.COMPLETE:
            checkpoint = load_weights(f"{attrs.get(trial, attrs.ARCHIVE)}/weights.pt")
            rebuilt = build_model(ModelSpec.from_dict(checkpoint["spec"]))
            rebuilt.load_state_dict(checkpoint["state_dict"])
            assert trial.values[0] == pytest.approx(checkpoint["val_f1"])
            assert trial.values[1] == count_params(rebuilt)


def test_constraints_prefilter_untrained(tmp_path, digits_dir, monkeypatch):
    trained = []
    real_fit = objective_module.fit
    monkeypatch.setattr(
        objective_module, "fit", lambda *a, **k: trained.append(1) or real_fit(*a, **k)
    )
    config = search_config(
        tmp_path, fast_space(tmp_path), n_trials=6, constraints={"params_max": 3000}
    )
    run_search(config, digits_dir)
    study = load(config)
    infeasible = [t for t in study.trials if attrs.get(t, attrs.INFEASIBLE)]
    assert infeasible, "expected some sampled models above 3000 parameters"
    for trial in infeasible:
        assert trial.state == TrialState.COMPLETE
        assert trial.constraints["params"] > 0
        assert trial.values[0] == 0.0 and trial.values[1] > 3000
        metrics = json.loads((Path(attrs.get(trial, attrs.ARCHIVE)) / "metrics.json").read_text())
        assert metrics["state"] == "infeasible" and "params" in metrics["reason"]
    assert len(trained) == len(study.trials) - len(infeasible)
    assert all(t.values[1] <= 3000 for t in study.best_trials)


def test_identical_configuration_is_reused(tmp_path, digits_dir):
    config = search_config(tmp_path, fast_space(tmp_path), n_trials=1)
    run_search(config, digits_dir)
    study = create_study(read_record(study_json(config)))  # readers cannot write: a worker's door
    study.enqueue_trial(study.trials[0].params)
    run_search(search_config(tmp_path, fast_space(tmp_path), n_trials=2), digits_dir)
    trials = load(config).trials
    assert attrs.get(trials[1], attrs.REUSED_FROM) == 0
    assert trials[1].values == trials[0].values
    first, second = (load_trial(attrs.get(t, attrs.ARCHIVE))[2] for t in trials)
    assert second["reused_from"] == 0
    assert second["objectives"] == first["objectives"]  # named, as a trained trial records
    assert second["costs"] == first["costs"] and second["costs"]["params"] > 0


def test_a_failing_trial_does_not_stop_the_worker(tmp_path, digits_dir, monkeypatch):
    real_fit = objective_module.fit
    calls = []

    def flaky_fit(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise FloatingPointError("boom in trial two")
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(objective_module, "fit", flaky_fit)
    config = search_config(tmp_path, fast_space(tmp_path), n_trials=3)
    report = run_search(config, digits_dir)
    failed = [t for t in load(config).trials if t.state == TrialState.FAIL]
    assert len(failed) == 1 and "boom in trial two" in attrs.get(failed[0], attrs.FAIL_REASON)
    metrics = json.loads((Path(attrs.get(failed[0], attrs.ARCHIVE)) / "metrics.json").read_text())
    assert metrics["state"] == "fail" and "FloatingPointError" in metrics["reason"]
    assert report["study_states"]["complete"] + report["study_states"]["pruned"] == 3


def test_optuna_cli_lists_our_pareto_trials(tmp_path, digits_dir):
    config = search_config(tmp_path, fast_space(tmp_path), n_trials=3)
    run_search(config, digits_dir)
    record = json.loads(study_json(config).read_text())
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "optuna"),
            "best-trials",
            "--storage",
            f"sqlite:///{study_json(config).parent / record['directory']}/study.db",
            "--study-name",
            record["name"],
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    listed = {row["number"] for row in json.loads(result.stdout)}
    assert listed == {t.number for t in load(config).best_trials}
    assert torch.get_num_threads() == 1  # the worker pinned this process to one thread


@pytest.mark.parametrize("sampler", ["nsga2", "random"])
def test_other_samplers(tmp_path, digits_dir, sampler):
    config = search_config(tmp_path, fast_space(tmp_path), n_trials=3, sampler=sampler)
    report = run_search(config, digits_dir)
    assert report["study_states"]["complete"] + report["study_states"]["pruned"] == 3


def test_single_objective_uses_optuna_pruner(tmp_path, digits_dir):
    config = search_config(
        tmp_path, fast_space(tmp_path, epochs=4), n_trials=10, objectives=[{"name": "f1"}]
    )
    config["pruning"].update(single_objective_pruner="median")
    run_search(config, digits_dir)
    study = load(config)
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE]
    finished = [t for t in study.trials if t.state.is_finished()]
    assert all(len(t.intermediate_values) >= 1 for t in finished)  # F1 reported every epoch
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned, "the median pruner stopped no trial"
    for trial in pruned:
        assert attrs.get(trial, attrs.PRUNE_REASON).startswith("MedianPruner pruned at step")
        assert len(trial.intermediate_values) < 4  # it did stop before the last epoch


def test_a_search_that_learns_nothing_says_so_once(tmp_path, digits_dir, caplog):
    space = fast_space(tmp_path, epochs=1)
    data = yaml.safe_load(space.read_text())
    data["hparams"]["optimizer"] = {"branches": {"sgd": {"lr": 1e-7, "momentum": 0.0}}}
    space.write_text(yaml.safe_dump(data))
    config = search_config(tmp_path, space, n_trials=3, n_startup_trials=2)
    with caplog.at_level("WARNING", logger="paretonas.search.worker"):
        run_search(config, digits_dir)
    warnings = [r.message for r in caplog.records if "learned almost nothing" in r.message]
    assert len(warnings) == 1, warnings
    assert "chance for 10 classes is 0.100" in warnings[0] and "hparams.epochs" in warnings[0]


def test_successive_halving_stops_trials_at_rungs_only(tmp_path, digits_dir):
    config = search_config(tmp_path, fast_space(tmp_path, steps=27), n_trials=12)
    config["pruning"].update(mode="prune", eta=3, rungs=2, n_startup_trials=2)
    run_search(config, digits_dir)
    study = load(config)
    trained = [t for t in study.trials if attrs.get(t, attrs.CURVE)]
    assert len(trained) == 12
    for trial in trained:
        standing = trial.user_attrs[attrs.RUNGS]
        assert standing["0"]["step"] == 3 and set(standing["costs"]) == {"params", "latency_ms"}
        assert attrs.get(trial, attrs.BUDGET_STEPS) == 27
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned, "no trial was stopped at a rung"
    for trial in pruned:
        assert attrs.get(trial, attrs.PRUNE_REASON).startswith("rung ")
        assert attrs.get(trial, attrs.CURVE)[-1][0] in (3, 9)  # never at the end (27)
    complete = [t for t in trained if t.state == TrialState.COMPLETE]
    assert all(attrs.get(t, attrs.CURVE)[-1][0] == 27 for t in complete)
    assert pruning_note(study) == f"MO-ASHA judged 12 trials at rungs and stopped {len(pruned)}"


def test_shadow_mode_decides_and_stops_nothing(tmp_path, digits_dir):
    config = search_config(tmp_path, fast_space(tmp_path, steps=27), n_trials=12)
    config["pruning"].update(mode="shadow", eta=3, rungs=2, n_startup_trials=2)
    run_search(config, digits_dir)
    study = load(config)
    assert not [t for t in study.trials if t.state == TrialState.PRUNED]
    flagged = [t for t in study.trials if attrs.get(t, attrs.SHADOW_PRUNE)]
    assert flagged, "shadow mode recorded no decision"
    for trial in flagged:
        decision = attrs.get(trial, attrs.SHADOW_PRUNE)
        assert decision["step"] in (3, 9) and decision["reason"].startswith("rung ")
        assert attrs.get(trial, attrs.CURVE)[-1][0] == 27  # and it trained to the end
        assert decision["seconds"] < attrs.get(trial, attrs.TRAIN_SECONDS)
    summary = shadow_summary(study)
    assert summary["would_prune"] == len(flagged)
    assert 0 < summary["time_saved_fraction"] < 1
    assert summary["false_prune_rate"] == len(summary["false_prunes"]) / len(flagged)
    note = pruning_note(study)  # the report's line
    expected = f"shadow mode: the rule would have stopped {len(flagged)} of {summary['trials']}"
    assert note.startswith(expected)


def test_threads_per_worker_sets_the_workers_torch_threads(tmp_path, digits_dir):
    import torch

    previous = torch.get_num_threads()
    config = search_config(tmp_path, fast_space(tmp_path), n_trials=1, threads_per_worker=2)
    try:
        report = run_search(config, digits_dir)
    finally:
        torch.set_num_threads(previous)  # the worker ran in this process
    assert report["torch_threads"] == 2 and report["workers"] == 1
    one = run_search(search_config(tmp_path / "one", fast_space(tmp_path), n_trials=1), digits_dir)
    torch.set_num_threads(previous)
    assert one["torch_threads"] == 1
