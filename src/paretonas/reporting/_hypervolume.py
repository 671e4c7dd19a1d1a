"""The hypervolume of the feasible front after each finished trial, in the select stage's
losses, finalist trials marked."""

from __future__ import annotations

import logging
import math
from typing import Any

from paretonas.reporting._figures import BOTH, FINALIST_COLOR, FigureWriter, new_figure
from paretonas.reporting._inputs import FinalistRow
from paretonas.reporting._trials import TrialTable, hypervolume_history, reference_point

_logger = logging.getLogger(__name__)


def write_hypervolume(
    writer: FigureWriter,
    table: TrialTable,
    finalists: list[FinalistRow],
    record: dict[str, Any] | None,
) -> None:
    """``hypervolume.{html,png}``: the feasible front's hypervolume after each finished trial,
    with finalists.yaml's reference point (``record``: its ``hypervolume``), else select's rule.
    """
    if len(table.objectives) < 2:
        writer.skip("hypervolume", "single-objective study: no hypervolume")
        return
    if not table.feasible():
        writer.skip("hypervolume", "no complete feasible trial", placeholder=BOTH)
        return

    record = record or {}
    reference = record.get("reference_point") or reference_point(table)
    recorded = float(record["value"]) if record.get("value") is not None else None
    try:
        numbers, volumes = hypervolume_history(table, reference)
    except Exception as exc:  # a bad reference point must not fail the report
        writer.skip("hypervolume", f"{type(exc).__name__}: {exc}", placeholder=BOTH)
        return
    final = volumes[-1] if volumes else 0.0
    if recorded is not None and not math.isclose(final, recorded, rel_tol=1e-6, abs_tol=1e-12):
        _logger.warning(
            "hypervolume here %.6g, finalists.yaml records %.6g (other trials?)", final, recorded
        )
    ref_text = ", ".join(f"{k}={v:.6g}" for k, v in reference.items())
    subtitle = f"select-stage losses, reference point {ref_text}; final {final:.4f}"
    at = dict(zip(numbers, volumes, strict=True))
    marks = [(f, at[f.trial]) for f in finalists if f.trial in at]
    args = (writer, numbers, volumes, marks, recorded, subtitle)
    writer.attempt("hypervolume", lambda: _hypervolume_png(*args), ("png",))
    writer.attempt("hypervolume", lambda: _hypervolume_html(*args), ("html",))


def _hypervolume_png(
    writer: FigureWriter,
    numbers: list[int],
    volumes: list[float],
    marks: list,
    recorded: float | None,
    subtitle: str,
) -> None:
    figure, axes = new_figure(9.0, 5.0)
    axes.step(numbers, volumes, where="post", color="#1f77b4", label="feasible front")
    axes.plot(numbers, volumes, "o", ms=3, color="#1f77b4")
    if recorded is not None:
        axes.axhline(
            recorded, ls="--", color="#555555", lw=1, label=f"finalists.yaml: {recorded:.4f}"
        )
    for finalist, volume in marks:
        axes.plot([finalist.trial], [volume], "*", ms=14, mfc="none", mec=FINALIST_COLOR, mew=1.6)
        axes.annotate(
            f"#{finalist.rank}",
            (finalist.trial, volume),
            xytext=(4, -14),
            textcoords="offset points",
            color=FINALIST_COLOR,
            fontweight="bold",
        )
    if marks:
        axes.plot([], [], "*", ms=12, mfc="none", mec=FINALIST_COLOR, label="finalist trial")
    axes.set_xlabel("trial number")
    axes.set_ylabel("hypervolume")
    axes.set_title(f"Hypervolume of the feasible Pareto front\n{subtitle}", fontsize=11)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right")
    writer.png("hypervolume", figure)


def _hypervolume_html(
    writer: FigureWriter,
    numbers: list[int],
    volumes: list[float],
    marks: list,
    recorded: float | None,
    subtitle: str,
) -> None:
    import plotly.graph_objects as go

    figure = go.Figure(
        go.Scatter(
            x=numbers, y=volumes, mode="lines+markers", name="feasible front", line={"shape": "hv"}
        )
    )
    if marks:
        figure.add_trace(
            go.Scatter(
                x=[f.trial for f, _ in marks],
                y=[v for _, v in marks],
                mode="markers+text",
                text=[f"#{f.rank}" for f, _ in marks],
                textposition="bottom center",
                name="finalist trial",
                marker={"symbol": "star-open", "size": 14, "color": FINALIST_COLOR},
            )
        )
    if recorded is not None:
        figure.add_hline(
            y=recorded, line_dash="dash", annotation_text=f"finalists.yaml: {recorded:.4f}"
        )
    figure.update_layout(
        title={"text": f"Hypervolume of the feasible Pareto front<br><sup>{subtitle}</sup>"},
        xaxis_title="trial number",
        yaxis_title="hypervolume",
    )
    writer.html("hypervolume", [figure])
