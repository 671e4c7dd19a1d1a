"""write_report end to end: files, tables, finalist marks, single objective, tiny studies."""

from __future__ import annotations

import csv

import optuna
import pytest
import yaml
from optuna.trial import create_trial

from paretonas.finalize import finalize_rank
from paretonas.reporting import write_report
from paretonas.reporting._figures import FigureWriter
from paretonas.search import attrs
from paretonas.select import write_selection
from tests.reporting.studies import (
    ACCURACIES,
    FIGURES,
    check_png,
    make_config,
    make_finalists,
    make_study,
)


@pytest.fixture
def png_texts(monkeypatch) -> dict[str, list[str]]:
    """Every text drawn on each PNG, by file stem (titles, labels, annotations, legends)."""
    texts: dict[str, list[str]] = {}
    original = FigureWriter.png

    def png(self, name, figure, tight=False):
        texts[name] = [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))]
        return original(self, name, figure, tight)

    monkeypatch.setattr(FigureWriter, "png", png)
    return texts


def test_three_objectives_every_file_table_and_finalist_marks(tmp_path, png_texts, caplog):
    config = make_config(tmp_path)
    study, _ = make_study(config)
    finalists_yaml, metrics, record = make_finalists(tmp_path, study, config)
    out = tmp_path / "report"
    files = write_report(study, finalists_yaml, metrics, out)

    expected = {"summary.csv", "summary.md"} | {f"confusion_{r}.png" for r in (1, 2, 3)}
    expected |= {f"{f}.{ext}" for f in FIGURES for ext in ("html", "png")}
    assert {p.name for p in files} == expected
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)  # no temp files left
    assert (out / "hypervolume.html").stat().st_size > 1_000_000  # plotly.js embedded
    for path in files:
        assert path.stat().st_size > 0, path
        if path.suffix == ".png":
            check_png(path)

    with (out / "summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["test_accuracy"]) for r in rows] == [ACCURACIES[k] for k in (1, 2, 3)]
    assert [int(r["trial"]) for r in rows] == [f["trial"] for f in record["finalists"]]
    assert rows[0]["params"] == "1000" and rows[1]["search_val_f1"] == "0.88"

    md = (out / "summary.md").read_text()
    assert "| rank | trial | why | test accuracy | test macro-F1 (95% interval) |" in md
    assert "latency_ms (minimize; CPU latency, batch 1, measured)" in md  # says what it is
    assert "params (minimize; parameters, deterministic)" in md
    assert f"| 1 | {rows[0]['trial']} | best f1 on the front \\| made up | 0.9312 |" in md
    assert "20 complete and feasible, 2 infeasible, 3 pruned); 2 failed" in md
    assert f"{record['hypervolume']['value']:.4f}" in md
    assert "## Skipped\n\n- none" in md
    assert "![pareto_front](pareto_front.png)" in md

    page = (out / "pareto_front.html").read_text()
    for item in record["finalists"]:
        label = f"#{item['rank']} (trial {item['trial']})"
        assert label in page and label in png_texts["pareto_front"]
    assert "infeasible (2)" in page and "infeasible (2)" in png_texts["pareto_front"]
    assert any("f1 (maximize)" in t for t in png_texts["pareto_front"])
    assert "#1" in png_texts["hypervolume"] and "#1" in png_texts["history_f1"]
    assert "hypervolume here" not in caplog.text  # the history ends at select's value


def test_single_objective_study(tmp_path):
    config = make_config(tmp_path, [{"name": "f1"}])
    study, _ = make_study(config, n_complete=12, n_infeasible=1)
    finalists_yaml, metrics, _ = make_finalists(tmp_path, study, config, k=2)
    out = tmp_path / "report"
    files = {p.name for p in write_report(study, finalists_yaml, metrics, out)}
    for stem in ("history_f1", "param_importances", "parallel_coordinate"):
        assert {f"{stem}.html", f"{stem}.png"} <= files
    assert not any(name.startswith(("pareto", "hypervolume")) for name in files)
    md = (out / "summary.md").read_text()
    assert "- **pareto_front**: single-objective study" in md
    assert "- **hypervolume**: single-objective study" in md
    check_png(out / "history_f1.png")


def test_two_trials_skip_importances_with_a_placeholder(tmp_path):
    config = make_config(tmp_path)
    study, _ = make_study(config, n_complete=2, n_pruned=1, n_failed=1, n_infeasible=0)
    finalists_yaml, metrics, _ = make_finalists(tmp_path, study, config, k=1)
    out = tmp_path / "report"
    files = {p.name for p in write_report(study, finalists_yaml, metrics, out)}
    assert {"param_importances.png", "param_importances.html", "pareto_front.png"} <= files
    check_png(out / "param_importances.png")
    md = (out / "summary.md").read_text()
    assert (
        "- **param_importances**: only 2 complete feasible trial(s); importances need at "
        "least 10 (html and png placeholder written)" in md
    )


def test_no_feasible_trial_still_reports(tmp_path):
    config = make_config(tmp_path)
    study, _ = make_study(config, n_complete=0, n_pruned=2, n_failed=1, n_infeasible=2)
    finalists_yaml = tmp_path / "finalists.yaml"
    finalists_yaml.write_text(yaml.safe_dump({"study": study.study_name, "finalists": []}))
    out = tmp_path / "report"
    files = {p.name for p in write_report(study, finalists_yaml, [], out)}
    assert {"summary.md", "pareto_front.png", "hypervolume.html", "history_f1.png"} <= files
    assert "no complete feasible trial" in (out / "summary.md").read_text()


def test_a_search_that_learned_nothing_reports_empty_slots_first(tmp_path):
    study = optuna.create_study(
        directions=["maximize", "minimize"], storage=f"sqlite:///{tmp_path}/s.db"
    )
    study.set_metric_names(["f1", "params"])
    study.set_user_attr(attrs.DATA, {"num_classes": 10})
    for number, (f1, params) in enumerate([(0.11, 900), (0.13, 300), (0.08, 100)]):
        keys = {attrs.CONFIG_HASH: str(number), attrs.F1_SE: 0.03}
        study.add_trial(create_trial(values=[f1, params], user_attrs=keys))
    select = tmp_path / "select"
    record = write_selection(study, 2, select / "pareto.csv", select / "finalists.yaml", 0.9)
    assert [f["trial"] for f in record["finalists"]] == [None, None]
    assert record["min_f1"] == pytest.approx(0.28) and record["below_min_f1"] == 3
    metrics = [
        tmp_path / str(rank) / "metrics.json"
        for rank in (1, 2)
        if finalize_rank(select / "finalists.yaml", rank, tmp_path, tmp_path / str(rank))
    ]
    out = tmp_path / "report"
    write_report(study, select / "finalists.yaml", metrics, out)
    md = (out / "summary.md").read_text()
    first = md.split("## Finalists")[0]
    assert "> **Warning:** No finalist for slot #1, #2: no finalist: only 0 trial(s)" in first
    assert "the search has learned almost nothing: the best validation F1 is 0.130" in first
    assert "| 1 | – | no finalist: only 0 trial(s) reach select.min_f1 = 0.280" in md
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["trial"] for r in rows] == ["", ""] and "latency_ms_estimate" in rows[0]
    for rank in (1, 2):  # the rule declares every slot's figure: an empty slot gets one too
        check_png(out / f"confusion_{rank}.png")
        assert f"- **confusion_{rank}**: finalist slot #{rank} is empty: no finalist" in md


def test_baseline_and_time_beside_the_finalists(tmp_path):
    config = make_config(tmp_path, [{"name": "f1"}])
    study, _ = make_study(config, n_complete=12, n_infeasible=1)
    finalists_yaml, metrics, _ = make_finalists(tmp_path, study, config, k=2)
    baseline = tmp_path / "baseline.json"
    baseline.write_text(
        '{"test": {"accuracy": 0.5, "f1_macro": 0.45}, "params": 94246, "trial": "baseline"}'
    )
    benchmarks = tmp_path / "benchmarks"
    (benchmarks / "search_worker").mkdir(parents=True)
    (benchmarks / "search_worker" / "0.tsv").write_text("s\th:m:s\n30.0\t0:00:30\n")
    estimate = {"total": 100, "data": 1, "search": 40, "profile": 9, "finalize": 30}
    out = tmp_path / "report"
    files = write_report(
        study,
        finalists_yaml,
        metrics,
        out,
        baseline_json=baseline,
        estimate={**estimate, "bookkeeping": 20},
        benchmarks_dir=benchmarks,
    )
    assert out / "timing.json" in files
    md = (out / "summary.md").read_text()
    finalists_at = md.index("## Finalists")
    assert finalists_at < md.index("## Baseline") < md.index("## Time") < md.index("## Figures")
    assert "test accuracy **0.5000**, macro-F1 0.4500, 94,246 parameters" in md
    assert "finalists above it on test accuracy: #1 (" in md
    assert "predicted 1.7 min, actual " in md and "search 40 s / 30 s" in md
    timing = yaml.safe_load((out / "timing.json").read_text())
    assert timing["predicted_seconds"] == 100 and timing["actual_seconds"] >= 30
    assert timing["not_run"] == ["data", "profile", "finalize", "baseline", "report"]
