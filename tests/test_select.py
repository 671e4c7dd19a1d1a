"""Finalist selection: layers, knee, hypervolume contributions, from hand-written fronts."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
import yaml

from paretonas.errors import SearchError
from paretonas.select import (
    Candidate,
    candidates,
    choose,
    hypervolume,
    knee,
    losses,
    nondominated_layers,
    select,
)

OBJ = [("f1", "maximize"), ("params", "minimize")]


@pytest.mark.parametrize(
    ("points", "layers"),
    [
        ([[0.1, 0.9], [0.5, 0.5], [0.9, 0.1]], [[0, 1, 2]]),
        ([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]], [[0], [1], [2]]),
        ([[0.2, 0.8], [0.3, 0.9], [0.8, 0.2], [0.5, 0.5]], [[0, 2, 3], [1]]),
        ([[0.5, 0.5], [0.5, 0.5]], [[0, 1]]),  # equal points do not dominate each other
    ],
)
def test_nondominated_layers(points, layers):
    assert nondominated_layers(np.array(points)) == layers


def test_knee_is_nearest_the_ideal_point():
    front = np.array([[0.0, 1.0], [0.2, 0.3], [1.0, 0.0], [0.5, 0.1]])
    assert knee(front) == 1


def test_hypervolume_2d():
    assert hypervolume(np.array([[0.5, 0.5]])) == pytest.approx(0.25)
    assert hypervolume(np.array([[0.5, 0.5], [0.25, 0.75]])) == pytest.approx(0.3125)
    assert hypervolume(np.array([[1.2, 0.1]])) == 0.0  # outside the reference box


def test_losses_scale():
    values = np.array([[0.9, 100.0], [0.5, 50.0]])
    out = losses(values, OBJ)
    assert out[:, 0] == pytest.approx([0.1, 0.5])
    assert out[:, 1] == pytest.approx([100 / 110, 50 / 110])


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


def test_too_few_candidates():
    with pytest.raises(SearchError, match="only 2 complete feasible trial"):
        choose([cand(0, 0.9, 10), cand(1, 0.8, 5)], OBJ, 3)


def _study(tmp_path):
    study = optuna.create_study(directions=["maximize", "minimize"],
                                storage=f"sqlite:///{tmp_path}/s.db", study_name="s")  # fmt: skip
    rows = [  # (f1, params, attrs)
        (0.99, 900, {"config_hash": "a"}),
        (0.95, 300, {"config_hash": "b"}),
        (0.95, 300, {"config_hash": "b", "reused_from": 1}),  # duplicate configuration
        (0.0, 50, {"config_hash": "c", "infeasible": "params 50 > 40"}),
        (0.80, 100, {"config_hash": "d"}),
        (0.70, 800, {"config_hash": "e"}),
    ]
    for f1, params, attrs in rows:
        study.add_trial(optuna.trial.create_trial(values=[f1, params], user_attrs={
            **attrs, "archive": f"trials/{len(study.trials)}"}))  # fmt: skip
    return study


def test_candidates_skip_infeasible_and_duplicates(tmp_path):
    assert [c.number for c in candidates(_study(tmp_path))] == [0, 1, 4, 5]


def test_select_writes_front_and_finalists(tmp_path):
    record = select(_study(tmp_path), OBJ, 3, tmp_path / "select")
    lines = (tmp_path / "select" / "pareto.csv").read_text().splitlines()
    assert lines[0] == "trial,front,f1,params,archive"
    assert {line.split(",")[0] for line in lines[1:]} == {"0", "1", "4"}
    written = yaml.safe_load((tmp_path / "select" / "finalists.yaml").read_text())
    assert written == record
    assert [f["trial"] for f in written["finalists"]] == [0, 1, 4]
    assert written["front_size"] == 3 and 0 < written["hypervolume"]["value"] < 1
    assert written["hypervolume"]["reference_point"] == {"f1": 0.0, "params": 990.0}


def test_min_relative_score_keeps_tiny_weak_models_out():
    cands = [cand(0, 0.99, 900), cand(1, 0.95, 300), cand(2, 0.40, 10), cand(3, 0.92, 600)]
    assert [f.candidate.number for f in choose(cands, OBJ, 3)] == [0, 1, 2]  # HV likes #2
    finalists = choose(cands, OBJ, 3, min_relative_score=0.9)
    assert [f.candidate.number for f in finalists] == [0, 1, 3]
    short = choose(cands[:3], OBJ, 3, min_relative_score=0.9)  # only 2 qualify: #2 fills in
    assert [f.candidate.number for f in short] == [0, 1, 2]
    assert "fewer than k trials reach select.min_relative_score" in short[2].why
