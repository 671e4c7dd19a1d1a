"""The Pareto front: a 2-D projection (first objective vs second, third as color) and, for three
objectives, a 3-D view; finalists marked by rank."""

from __future__ import annotations

import logging

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
from paretonas.reporting._trials import TrialRow, TrialTable

_logger = logging.getLogger(__name__)

LEGEND_GREY = "#888888"
# label offsets (points) and alignment, in turn, so labels of close finalists do not overlap
LABEL_OFFSETS = [((8, 8), "left"), ((8, -16), "left"), ((-8, 8), "right"), ((-8, -16), "right")]


def _label(table: TrialTable, j: int) -> str:
    return table.label(j)


def _hover(table: TrialTable, row: TrialRow, layer: int | None) -> str:
    values = "<br>".join(
        f"{n}: {v:.6g}" for n, v in zip(table.names, row.values or (), strict=True)
    )
    where = row.reason if row.state == "infeasible" else f"layer {layer}"
    return f"trial {row.number} ({where})<br>{values}"


def _finalists_on(
    table: TrialTable, finalists: list[FinalistRow]
) -> list[tuple[FinalistRow, TrialRow]]:
    by_number = {row.number: row for row in table.rows}
    out = []
    for finalist in finalists:
        row = by_number.get(finalist.trial)
        if row is None or row.values is None:
            _logger.warning(
                "finalist #%d: trial %d has no values in the study", finalist.rank, finalist.trial
            )
            continue
        out.append((finalist, row))
    return out


def write_pareto(writer: FigureWriter, table: TrialTable, finalists: list[FinalistRow]) -> None:
    """``pareto_front.{html,png}`` (multi-objective studies only)."""
    if len(table.objectives) < 2:
        writer.skip("pareto_front", "single-objective study: there is no Pareto front")
        return
    feasible = table.feasible()
    if not feasible:
        writer.skip("pareto_front", "no complete feasible trial", placeholder=BOTH)
        return
    layers = table.layers()
    marked = _finalists_on(table, finalists)
    writer.attempt("pareto_front", lambda: _pareto_png(writer, table, layers, marked), ("png",))
    writer.attempt("pareto_front", lambda: _pareto_html(writer, table, layers, marked), ("html",))


def _split(table: TrialTable, layers: dict[int, int]) -> tuple[list, list, list]:
    feasible = table.feasible()
    front = [r for r in feasible if layers[r.number] == 0]
    dominated = [r for r in feasible if layers[r.number] > 0]
    return front, dominated, table.of_state("infeasible")


def _infeasible_y(
    table: TrialTable, feasible: list[TrialRow], infeasible: list[TrialRow]
) -> list[float]:
    objective = table.objectives[0]
    return untrained_position(
        objective, [r.values[0] for r in feasible], [r.values[0] for r in infeasible]
    )


def _title(table: TrialTable) -> tuple[str, str]:
    names = table.names
    title = f"Pareto front: {names[0]} vs {names[1]}"
    if len(names) > 2:
        title += f", color = {names[2]}"
    if len(names) > 3:
        title += f" (projection of {len(names)} objectives)"
    counts = table.counts()
    sub = f"{counts['complete']} feasible trials, {counts['infeasible']} infeasible"
    if counts["infeasible"] and table.objectives[0].score:
        sub += f" (untrained: drawn past the worst {names[0]})"
    if len(names) > 2:
        sub += f"\nfront = non-dominated in all {len(names)} objectives"
    return title, sub


def _entry(marker: str, label: str, **style) -> object:
    """A legend entry drawn apart from the data (whose colors encode the third objective)."""
    from matplotlib.lines import Line2D

    return Line2D([], [], marker=marker, ls="", label=label, **style)


def _pareto_png(
    writer: FigureWriter,
    table: TrialTable,
    layers: dict[int, int],
    marked: list[tuple[FinalistRow, TrialRow]],
) -> None:
    front, dominated, infeasible = _split(table, layers)
    figure, axes = new_figure(9.0, 6.0)
    colored = len(table.objectives) > 2
    every = front + dominated
    color_kw: dict = {}
    if colored:
        scores = [r.values[2] for r in every]
        color_kw = {"cmap": "viridis", "vmin": min(scores), "vmax": max(scores)}

    def scatter(rows: list[TrialRow], **kw) -> object:
        x = [r.values[1] for r in rows]
        y = [r.values[0] for r in rows]
        if colored and "c" not in kw and "color" not in kw:
            kw = {"c": [r.values[2] for r in rows], **color_kw, **kw}
        return axes.scatter(x, y, **kw)

    if dominated:
        scatter(
            dominated, s=28, alpha=0.45, linewidths=0, **({} if colored else {"color": "#aec7e8"})
        )
    mappable = scatter(
        front,
        s=70,
        edgecolors="black",
        linewidths=0.8,
        zorder=3,
        **({} if colored else {"color": "#1f77b4"}),
    )
    if not colored:  # two objectives: the front is a curve, join it
        line = sorted((r.values[1], r.values[0]) for r in front)
        axes.plot(*zip(*line, strict=True), color="#1f77b4", lw=1, alpha=0.6, zorder=2)
    if infeasible:
        axes.scatter(
            [r.values[1] for r in infeasible],
            _infeasible_y(table, every, infeasible),
            s=30,
            marker="x",
            color=INFEASIBLE_COLOR,
            zorder=2,
        )
    for i, (finalist, row) in enumerate(marked):
        axes.scatter(
            [row.values[1]],
            [row.values[0]],
            s=320,
            marker="*",
            facecolors="none",
            edgecolors=FINALIST_COLOR,
            linewidths=1.8,
            zorder=4,
        )
        offset, align = LABEL_OFFSETS[i % len(LABEL_OFFSETS)]
        axes.annotate(
            f"#{finalist.rank} (trial {finalist.trial})",
            (row.values[1], row.values[0]),
            xytext=offset,
            textcoords="offset points",
            color=FINALIST_COLOR,
            ha=align,
            fontsize=10,
            fontweight="bold",
            zorder=5,
        )
    if colored:
        figure.colorbar(mappable, ax=axes, label=_label(table, 2))
    axes.set_xscale(scale_for([r.values[1] for r in every + infeasible]))
    axes.set_xlabel(_label(table, 1))
    axes.set_ylabel(_label(table, 0))
    axes.grid(True, alpha=0.3)
    title, sub = _title(table)
    axes.set_title(f"{title}\n{sub}", fontsize=11)
    fill = LEGEND_GREY if colored else "#1f77b4"
    handles = [
        _entry("o", f"Pareto front ({len(front)})", color=fill, mec="black", ms=8),
        _entry("o", f"dominated ({len(dominated)})", color=fill, alpha=0.45, ms=6),
    ]
    if infeasible:
        handles.append(_entry("x", f"infeasible ({len(infeasible)})", color=INFEASIBLE_COLOR))
    if marked:
        handles.append(_entry("*", "finalist (#rank)", mfc="none", mec=FINALIST_COLOR, ms=14))
    axes.legend(handles=handles, loc="best", framealpha=0.9)
    writer.png("pareto_front", figure, tight=True)  # finalist labels may overhang the axes


def _pareto_html(
    writer: FigureWriter,
    table: TrialTable,
    layers: dict[int, int],
    marked: list[tuple[FinalistRow, TrialRow]],
) -> None:
    import plotly.graph_objects as go

    front, dominated, infeasible = _split(table, layers)
    colored = len(table.objectives) > 2
    every = front + dominated
    marker_color: dict = {}
    if colored:
        scores = [r.values[2] for r in every]
        marker_color = {"colorscale": "Viridis", "cmin": min(scores), "cmax": max(scores)}

    def trace(
        rows: list[TrialRow], name: str, dims: int = 2, y: list[float] | None = None, **marker
    ) -> go.Scatter:
        if colored and "color" not in marker:
            marker = {"color": [r.values[2] for r in rows], **marker_color, **marker}
        text = [_hover(table, r, layers.get(r.number)) for r in rows]
        xy = {"x": [r.values[1] for r in rows], "y": y or [r.values[0] for r in rows]}
        if dims == 3:
            return go.Scatter3d(
                **xy,
                z=[r.values[2] for r in rows],
                mode="markers",
                name=name,
                marker=marker,
                hovertext=text,
                hoverinfo="text",
            )
        return go.Scatter(
            **xy, mode="markers", name=name, marker=marker, hovertext=text, hoverinfo="text"
        )

    def finalist_trace(dims: int) -> go.Scatter:
        rows = [row for _, row in marked]
        labels = [f"#{f.rank} (trial {f.trial})" for f, _ in marked]
        style = {
            "symbol": "diamond-open" if dims == 3 else "star-open",
            "size": 16 if dims == 2 else 8,
            "color": FINALIST_COLOR,
            "line": {"width": 2, "color": FINALIST_COLOR},
        }
        fig_trace = trace(rows, "finalists", dims, **style)
        fig_trace.update(
            mode="markers+text",
            text=labels,
            textposition="top center",
            textfont={"color": FINALIST_COLOR},
        )
        return fig_trace

    def build(dims: int) -> go.Figure:
        figure = go.Figure()
        if dominated:
            figure.add_trace(
                trace(
                    dominated,
                    f"dominated ({len(dominated)})",
                    dims,
                    size=7 if dims == 2 else 3,
                    opacity=0.5,
                    **({} if colored else {"color": "#aec7e8"}),
                )
            )
        front_marker = {"size": 11 if dims == 2 else 5, "line": {"width": 1, "color": "black"}}
        if colored:
            front_marker["colorbar"] = {"title": {"text": table.names[2]}}
        else:
            front_marker["color"] = "#1f77b4"
        figure.add_trace(trace(front, f"Pareto front ({len(front)})", dims, **front_marker))
        if infeasible and dims == 2:  # in 3-D they would only squash the f1 axis
            figure.add_trace(
                trace(
                    infeasible,
                    f"infeasible ({len(infeasible)})",
                    dims,
                    _infeasible_y(table, every, infeasible),
                    symbol="x",
                    size=7,
                    color=INFEASIBLE_COLOR,
                )
            )
        if marked:
            figure.add_trace(finalist_trace(dims))
        return figure

    title, sub = _title(table)
    flat = build(2)
    flat.update_layout(
        title={"text": f"{title}<br><sup>{sub.replace(chr(10), '; ')}</sup>"},
        xaxis={
            "title": {"text": _label(table, 1)},
            "type": scale_for([r.values[1] for r in every + infeasible]),
        },
        yaxis={"title": {"text": _label(table, 0)}},
        legend={"orientation": "h", "y": -0.15},
    )
    figures = [flat]
    if len(table.objectives) == 3:
        solid = build(3)
        solid.update_layout(
            title={"text": "Pareto front in all three objectives"},
            scene={
                "xaxis_title": table.names[1],
                "yaxis_title": table.names[0],
                "zaxis_title": table.names[2],
            },
            height=720,
        )
        figures.append(solid)
    caption = (
        "Finalists: " + "; ".join(f"#{f.rank} trial {f.trial} ({f.why})" for f, _ in marked)
        if marked
        else "No finalist is in the study."
    )
    writer.html("pareto_front", figures, caption)
