"""Per-objective optimization history, parameter importances and the parallel coordinate plot.

Importances and the parallel coordinates come from Optuna, run on an in-memory copy holding
the feasible trials only (see ``_trials.copy_study``).
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections import Counter

import optuna

from paretonas.reporting._figures import (
    BOTH,
    FINALIST_COLOR,
    INFEASIBLE_COLOR,
    FigureWriter,
    new_figure,
    scale_for,
    untrained_position,
)
from paretonas.reporting._inputs import FinalistRow
from paretonas.reporting._trials import TrialTable, copy_study

_logger = logging.getLogger(__name__)

MIN_TRIALS_FOR_IMPORTANCES = 10  # PED-ANOVA's top 10% needs two trials; fewer says nothing
MAX_BARS = 15
MAX_PARALLEL_PARAMS = 8


def _best_so_far(values: list[float], direction: str) -> list[float]:
    best: list[float] = []
    for value in values:
        if not best:
            best.append(value)
        else:
            best.append(max(best[-1], value) if direction == "maximize" else min(best[-1], value))
    return best


def write_history(
    writer: FigureWriter, table: TrialTable, j: int, finalists: list[FinalistRow]
) -> None:
    """``history_<objective>.{html,png}``: each trial's value over trial number, the best
    feasible value so far, infeasible trials apart, finalists marked."""
    objective = table.objectives[j]
    name, direction = objective.name, objective.direction
    fig_name = f"history_{name}"
    feasible, infeasible = table.feasible(), table.of_state("infeasible")
    if not feasible and not infeasible:
        writer.skip(fig_name, "no complete trial has values", placeholder=BOTH)
        return
    counts = table.counts()
    untrained = " (untrained: drawn past the worst)" if infeasible and objective.score else ""
    bad_y = untrained_position(
        objective, [r.values[j] for r in feasible], [r.values[j] for r in infeasible]
    )
    data = {
        "x": [r.number for r in feasible],
        "y": [r.values[j] for r in feasible],
        "bad_x": [r.number for r in infeasible],
        "bad_y": bad_y,
        "best": _best_so_far([r.values[j] for r in feasible], direction),
        "marks": [(f, r.values[j]) for f in finalists for r in feasible if r.number == f.trial],
        "scale": scale_for([r.values[j] for r in feasible] + bad_y),
        "label": table.label(j),
        "title": f"Optimization history: {name}",
        "sub": f"{len(feasible)} feasible, {len(infeasible)} infeasible{untrained}\n"
        f"{counts['pruned']} pruned and {counts['fail']} failed trials have no values",
    }
    writer.attempt(fig_name, lambda: _history_png(writer, fig_name, data), ("png",))
    writer.attempt(fig_name, lambda: _history_html(writer, fig_name, data), ("html",))


def _history_png(writer: FigureWriter, fig_name: str, data: dict) -> None:
    figure, axes = new_figure(9.0, 5.0)
    axes.plot(data["x"], data["y"], "o", ms=5, color="#1f77b4", label="feasible trial")
    if data["x"]:
        axes.step(data["x"], data["best"], where="post", color="#ff7f0e", label="best so far")
    if data["bad_x"]:
        axes.plot(data["bad_x"], data["bad_y"], "x", color=INFEASIBLE_COLOR, label="infeasible")
    for finalist, value in data["marks"]:
        axes.plot([finalist.trial], [value], "*", ms=15, mfc="none", mec=FINALIST_COLOR, mew=1.6)
        axes.annotate(
            f"#{finalist.rank}",
            (finalist.trial, value),
            xytext=(6, 6),
            textcoords="offset points",
            color=FINALIST_COLOR,
            fontweight="bold",
        )
    if data["marks"]:
        axes.plot([], [], "*", ms=12, mfc="none", mec=FINALIST_COLOR, label="finalist (#rank)")
    axes.set_yscale(data["scale"])
    axes.set_xlabel("trial number")
    axes.set_ylabel(data["label"])
    axes.set_title(f"{data['title']}\n{data['sub']}", fontsize=11)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: never hides a trial
    writer.png(fig_name, figure)


def _history_html(writer: FigureWriter, fig_name: str, data: dict) -> None:
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.add_trace(go.Scatter(x=data["x"], y=data["y"], mode="markers", name="feasible trial"))
    figure.add_trace(
        go.Scatter(
            x=data["x"], y=data["best"], mode="lines", name="best so far", line={"shape": "hv"}
        )
    )
    if data["bad_x"]:
        figure.add_trace(
            go.Scatter(
                x=data["bad_x"],
                y=data["bad_y"],
                mode="markers",
                name="infeasible",
                marker={"symbol": "x", "color": INFEASIBLE_COLOR},
            )
        )
    if data["marks"]:
        figure.add_trace(
            go.Scatter(
                x=[f.trial for f, _ in data["marks"]],
                y=[v for _, v in data["marks"]],
                text=[f"#{f.rank}" for f, _ in data["marks"]],
                mode="markers+text",
                textposition="top center",
                name="finalist (#rank)",
                marker={"symbol": "star-open", "size": 15, "color": FINALIST_COLOR},
            )
        )
    sub = data["sub"].replace("\n", "; ")
    figure.update_layout(
        title={"text": f"{data['title']}<br><sup>{sub}</sup>"},
        xaxis_title="trial number",
        yaxis={"title": {"text": data["label"]}, "type": data["scale"]},
    )
    writer.html(fig_name, [figure])


def write_importances(
    writer: FigureWriter, study: optuna.Study, table: TrialTable
) -> dict[str, float]:
    """``param_importances.{html,png}`` for the first objective (Optuna's PED-ANOVA on the
    feasible trials); a placeholder saying why when they cannot be computed. Returns them."""
    name = "param_importances"
    feasible = table.feasible()
    if len(feasible) < MIN_TRIALS_FOR_IMPORTANCES:
        writer.skip(
            name,
            f"only {len(feasible)} complete feasible trial(s); importances need "
            f"at least {MIN_TRIALS_FOR_IMPORTANCES}",
            placeholder=BOTH,
        )
        return {}
    try:
        copy = copy_study(study, table, objective=0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            importances = optuna.importance.get_param_importances(copy)
    except Exception as exc:
        writer.skip(
            name,
            f"Optuna could not compute importances: {type(exc).__name__}: {exc}",
            placeholder=BOTH,
        )
        return {}
    equal = [str(w.message) for w in caught if "importances will be equal" in str(w.message)]
    if not importances or equal:
        writer.skip(name, equal[0] if equal else "no parameter varies", placeholder=BOTH)
        return {}
    top = sorted(importances.items(), key=lambda item: item[1], reverse=True)[:MAX_BARS]
    objective = table.names[0]
    title = f"Parameter importances for {objective}"
    sub = (
        f"Optuna PED-ANOVA on {len(feasible)} feasible trials; top {len(top)} of "
        f"{len(importances)} parameters"
    )
    writer.attempt(name, lambda: _importances_png(writer, top, title, sub), ("png",))
    writer.attempt(name, lambda: _importances_html(writer, top, title, sub), ("html",))
    return importances


def _importances_png(writer: FigureWriter, top: list, title: str, sub: str) -> None:
    figure, axes = new_figure(9.0, 1.2 + 0.38 * len(top))
    names = [n for n, _ in top][::-1]
    values = [v for _, v in top][::-1]
    axes.barh(names, values, color="#1f77b4")
    for i, value in enumerate(values):
        axes.text(value, i, f" {value:.3f}", va="center", fontsize=9)
    axes.set_xlabel("importance (normalized, sums to 1)")
    axes.set_xlim(0, max(values) * 1.15 if max(values) > 0 else 1)
    axes.set_title(f"{title}\n{sub}", fontsize=11)
    writer.png("param_importances", figure)


def _importances_html(writer: FigureWriter, top: list, title: str, sub: str) -> None:
    import plotly.graph_objects as go

    names = [n for n, _ in top][::-1]
    values = [v for _, v in top][::-1]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            text=[f"{v:.3f}" for v in values],
            textposition="outside",
        )
    )
    figure.update_layout(
        title={"text": f"{title}<br><sup>{sub}</sup>"},
        xaxis_title="importance (normalized, sums to 1)",
        height=max(400, 160 + 28 * len(top)),
    )
    writer.html("param_importances", [figure])


def _parallel_params(
    table: TrialTable, study: optuna.Study, importances: dict[str, float]
) -> list[str]:
    """The most important parameters, else those set in most feasible trials (at most 8)."""
    if importances:
        ranked = sorted(importances, key=lambda p: importances[p], reverse=True)
        return ranked[:MAX_PARALLEL_PARAMS]
    keep = {row.number for row in table.feasible()}
    counts = Counter(
        p for t in study.get_trials(deepcopy=False) if t.number in keep for p in t.params
    )
    ranked = sorted(counts, key=lambda p: (-counts[p], p))
    return ranked[:MAX_PARALLEL_PARAMS]


def write_parallel(
    writer: FigureWriter, study: optuna.Study, table: TrialTable, importances: dict[str, float]
) -> None:
    """``parallel_coordinate.{html,png}``: Optuna's plot of the objectives and (up to 8)
    parameters of the feasible trials; colored by Pareto rank (one objective: its value)."""
    name = "parallel_coordinate"
    if not table.feasible():
        writer.skip(name, "no complete feasible trial", placeholder=BOTH)
        return
    params = _parallel_params(table, study, importances)
    if not params:
        writer.skip(name, "the trials have no parameters", placeholder=BOTH)
        return
    single = len(table.objectives) == 1
    copy = copy_study(study, table, objective=0 if single else None)
    target_name = table.names[0] if single else "Objective Value"
    with warnings.catch_warnings():  # "experimental"; "identical ylims" for a constant axis
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        writer.attempt(name, lambda: _parallel_png(writer, copy, params, target_name), ("png",))
        writer.attempt(name, lambda: _parallel_html(writer, copy, params, target_name), ("html",))


def _parallel_html(
    writer: FigureWriter, copy: optuna.Study, params: list[str], target_name: str
) -> None:
    figure = optuna.visualization.plot_parallel_coordinate(
        copy, params=params, target_name=target_name
    )
    writer.html(
        "parallel_coordinate", [figure], f"Feasible trials; parameters: {', '.join(params)}"
    )


def _parallel_png(
    writer: FigureWriter, copy: optuna.Study, params: list[str], target_name: str
) -> None:
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:  # Optuna's matplotlib plots use pyplot
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization.matplotlib import plot_parallel_coordinate

    with plt.rc_context():  # whatever Optuna sets stays inside
        axes = plot_parallel_coordinate(copy, params=params, target_name=target_name)
        figure = axes.get_figure()
        dims = len(copy.directions) + len(params)
        figure.set_size_inches(max(9.0, 1.5 * dims + 2), 6.0)
        axes.set_title("Parallel coordinates of the feasible trials")
        for label in axes.get_xticklabels():
            label.set_rotation(25)
            label.set_ha("right")
        writer.png("parallel_coordinate", figure, tight=True)
