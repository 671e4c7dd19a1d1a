"""Finalist selection: best, knee, hypervolume contributions, layers, the score floor, and the
files the select stage writes, from hand-written fronts and a real SQLite study."""

from __future__ import annotations

import optuna
import pytest
import yaml

from paretonas.objectives import from_names
from paretonas.search import attrs
from paretonas.search.study import StudyError
from paretonas.select import Candidate, candidates, choose, write_selection

OBJ = from_names(["f1", "params"])


def cand(number, f1, params):
    return Candidate(number, (f1, params), f"trials/{number}")


def test_choose_best_knee_then_hypervolume():
    front = [cand(0, 0.99, 900), cand(1, 0.95, 300), cand(2, 0.80, 100), cand(3, 0.60, 50)]
    dominated = [cand(4, 0.70, 800)]
    finalists = choose(front + dominated, OBJ, 3)
    assert [f.candidate.number for f in finalists] == [0, 1, 2]
    assert finalists[0].why == "best f1 on the front"
    assert finalists[1].why.startswith("knee of the front")
    assert finalists[2].why.startswith("largest hypervolume contribution on the front")
    assert all(f.front == 0 for f in finalists)


def test_choose_fills_from_the_next_layer():
    cands = [cand(0, 0.99, 100), cand(1, 0.90, 500), cand(2, 0.50, 900)]  # a chain: 3 layers
    finalists = choose(cands, OBJ, 3)
    assert [(f.candidate.number, f.front) for f in finalists] == [(0, 0), (1, 1), (2, 2)]
    assert finalists[1].why == "best f1 on the non-dominated layer 1"


def test_too_few_candidates_leave_a_slot_empty():
    finalists = choose([cand(0, 0.9, 10), cand(1, 0.8, 5)], OBJ, 3)
    assert [f.candidate.number for f in finalists[:2]] == [0, 1]
    assert finalists[2].candidate is None and finalists[2].rank == 3
    assert "only 2 complete feasible trial(s)" in finalists[2].why
    assert "raise search.n_trials" in finalists[2].advice


def test_a_chance_level_model_is_never_a_finalist():
    # 10 classes: chance 0.1, default min_f1 0.28; only trial 0 has learned something
    cands = [cand(0, 0.62, 900), cand(1, 0.21, 100), cand(2, 0.12, 50)]
    finalists = choose(cands, OBJ, 3, 0.9, min_f1=0.28, chance=0.1)
    assert [f.candidate and f.candidate.number for f in finalists] == [0, None, None]
    assert "only 1 trial(s) reach select.min_f1 = 0.280, chance 0.100" in finalists[1].why
    assert "hparams.steps" in finalists[1].advice
    nothing = choose(cands[1:], OBJ, 2, 0.9, min_f1=0.28, chance=0.1)
    assert all(f.candidate is None for f in nothing)


@pytest.mark.parametrize(
    ("noise", "expected"),
    [(0.0, [0, 1]), (1.0, [1, 2])],  # within the noise, 0.95 vs 0.97 is a tie: cheaper wins
)
def test_noise_aware_dominance(noise, expected):
    cands = [
        Candidate(0, (0.97, 900), "a", f1_se=0.02),
        Candidate(1, (0.95, 300), "b", f1_se=0.02),
        Candidate(2, (0.60, 100), "c", f1_se=0.02),
    ]
    finalists = choose(cands, OBJ, 2, 0.0, f1_noise=noise)
    assert [f.candidate.number for f in finalists] == expected


def test_min_relative_score_keeps_tiny_weak_models_out():
    cands = [cand(0, 0.99, 900), cand(1, 0.95, 300), cand(2, 0.40, 10), cand(3, 0.92, 600)]
    assert [f.candidate.number for f in choose(cands, OBJ, 3)] == [0, 1, 2]  # HV likes #2
    finalists = choose(cands, OBJ, 3, min_relative_score=0.9)
    assert [f.candidate.number for f in finalists] == [0, 1, 3]
    short = choose(cands[:3], OBJ, 3, min_relative_score=0.9)  # only 2 qualify: #2 fills in
    assert [f.candidate.number for f in short] == [0, 1, 2]
    assert "fewer than k trials reach select.min_relative_score" in short[2].why


def _study(tmp_path):
    study = optuna.create_study(
        directions=["maximize", "minimize"], storage=f"sqlite:///{tmp_path}/s.db", study_name="s"
    )
    study.set_metric_names(["f1", "params"])
    rows = [  # (f1, params, attrs)
        (0.99, 900, {attrs.CONFIG_HASH: "a"}),
        (0.95, 300, {attrs.CONFIG_HASH: "b"}),
        (0.95, 300, {attrs.CONFIG_HASH: "b", attrs.REUSED_FROM: 1}),  # duplicate configuration
        (0.0, 50, {attrs.CONFIG_HASH: "c", attrs.INFEASIBLE: "params 50 > 40"}),
        (0.80, 100, {attrs.CONFIG_HASH: "d"}),
        (0.70, 800, {attrs.CONFIG_HASH: "e"}),
    ]
    for f1, params, keys in rows:
        archive = f"trials/{len(study.trials)}"
        study.add_trial(
            optuna.trial.create_trial(
                values=[f1, params], user_attrs={**keys, attrs.ARCHIVE: archive}
            )
        )
    return study


def test_candidates_skip_infeasible_and_duplicates(tmp_path):
    study = _study(tmp_path)
    assert [c.number for c in candidates(study)] == [0, 1, 4, 5]
    assert [c.archive for c in candidates(study)][:2] == ["trials/0", "trials/1"]
    assert candidates(study, tmp_path / "snap")[0].archive == str(tmp_path / "snap" / "0")


def test_write_selection_writes_front_and_finalists(tmp_path):
    _study(tmp_path)
    out = tmp_path / "select"
    record = write_selection(tmp_path / "s.db", 3, out / "pareto.csv", out / "f.yaml")
    lines = (out / "pareto.csv").read_text().splitlines()
    assert lines[0] == "trial,front,f1,params,f1_se,archive"
    assert {line.split(",")[0] for line in lines[1:]} == {"0", "1", "4"}
    written = yaml.safe_load((out / "f.yaml").read_text())
    assert written == record
    assert [f["trial"] for f in written["finalists"]] == [0, 1, 4]
    assert written["front_size"] == 3 and 0 < written["hypervolume"]["value"] < 1
    assert written["hypervolume"]["reference_point"] == {"f1": 0.0, "params": 990.0}


def test_write_selection_refuses_a_missing_study(tmp_path):
    with pytest.raises(StudyError, match=r"nope\.db: no such file"):
        write_selection(tmp_path / "nope.db", 3, tmp_path / "p.csv", tmp_path / "f.yaml")
    assert not (tmp_path / "nope.db").exists()  # never created an empty one
