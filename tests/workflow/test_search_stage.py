"""The default workflow through the search stage: `snakemake --cores 4` on digits."""

from __future__ import annotations

import json
import time

import optuna
from optuna.trial import TrialState

from paretonas.models import ModelSpec, build_model, count_params


def study_of(project) -> optuna.Study:
    record = json.loads(project.path("results", "search", "study.json").read_text())
    url = f"sqlite:///{project.root / record['directory'] / 'study.db'}"
    return optuna.load_study(study_name=record["name"], storage=url)


def test_default_search_two_workers_then_more_trials(project):
    started = time.perf_counter()
    project.snakemake("--cores", "4")
    wall = time.perf_counter() - started
    study = study_of(project)
    trials = study.get_trials()
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) >= 40
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    workers = {t.user_attrs["worker"] for t in finished}
    assert workers == {0, 1}, "both workers ran trials"
    for trial in finished:  # archived, rebuildable from model.yaml alone
        archive = project.root / trial.user_attrs["archive"]
        metrics = json.loads((archive / "metrics.json").read_text())
        model = build_model(ModelSpec.from_yaml(archive / "model.yaml"))
        assert count_params(model) == metrics["costs"]["params"]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert max(t.values[0] for t in complete) >= 0.95
    assert len(study.best_trials) >= 3
    logs = "".join(p.read_text() for p in project.path("results", "logs").rglob("*.log"))
    assert "database is locked" not in logs
    assert logs.count(" complete ") + logs.count(" pruned ") >= 40  # one line per trial
    print(f"default search: {len(finished)} trials, 2 workers, {wall:.1f}s wall")

    dry = project.snakemake("-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr

    project.set_config(search={"n_trials": 44})  # more trials: same study, only the extra run
    project.snakemake("--cores", "4")
    again = study_of(project)
    assert again.study_name == study.study_name
    assert len(again.trials) - len(trials) in range(4, 6)
