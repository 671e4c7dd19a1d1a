"""Writing figures: plotly pages and matplotlib PNGs, atomically, and the list of what was
skipped and why (the report never fails for a plot).

PNGs are drawn on ``matplotlib.figure.Figure`` objects (no pyplot state, no display needed);
only Optuna's own matplotlib plots go through pyplot, on the Agg backend.
"""

from __future__ import annotations

import html
import io
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from paretonas.objectives import Objective
from paretonas.reporting._inputs import ReportError
from paretonas.yamlio import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from matplotlib.figure import Figure

_logger = logging.getLogger(__name__)

PLOTLYJS_MODES = ("embed", "directory", "cdn")
PNG_DPI = 120
BOTH = ("html", "png")
FINALIST_COLOR = "#d62728"
INFEASIBLE_COLOR = "#7f7f7f"


@dataclass
class FigureWriter:
    """Writes figures under ``out_dir`` and records the files and the skipped figures.

    ``plotlyjs``: ``embed`` puts plotly.js (~4.8 MB) in every page (works offline, each page
    stands alone); ``directory`` writes it once as ``plotly.min.js`` beside the pages; ``cdn``
    links it from the internet.
    """

    out_dir: Path
    plotlyjs: str = "embed"
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.plotlyjs not in PLOTLYJS_MODES:
            raise ReportError(f"plotlyjs: expected one of {PLOTLYJS_MODES}, got {self.plotlyjs!r}")
        self.out_dir = Path(self.out_dir)

    def _wrote(self, path: Path) -> Path:
        self.files.append(path)
        _logger.debug("wrote %s", path)
        return path

    def _include_plotlyjs(self) -> bool | str:
        if self.plotlyjs == "embed":
            return True
        if self.plotlyjs == "cdn":
            return "cdn"
        target = self.out_dir / "plotly.min.js"
        if target not in self.files:
            from plotly.offline import get_plotlyjs

            self._wrote(atomic_write_text(target, get_plotlyjs()))
        return "directory"

    def html(self, name: str, figures: list[go.Figure], caption: str = "") -> Path:
        """``<name>.html``: one page with every figure (and a caption paragraph above them)."""
        include = self._include_plotlyjs()
        parts = []
        for i, figure in enumerate(figures):
            if figure.layout.height is None:
                figure.update_layout(height=620)
            parts.append(
                figure.to_html(
                    full_html=False,
                    include_plotlyjs=include if i == 0 else False,
                    div_id=f"{name}-{i}",
                )
            )
        text = (
            '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8" />'
            f"<title>{html.escape(name)}</title></head>\n<body>\n"
            + (f"<p>{html.escape(caption)}</p>\n" if caption else "")
            + "\n".join(parts)
            + "\n</body>\n</html>\n"
        )
        return self._wrote(atomic_write_text(self.out_dir / f"{name}.html", text))

    def png(self, name: str, figure: Figure, tight: bool = False) -> Path:
        """``<name>.png`` from a matplotlib figure (closed through pyplot if it came from there).
        ``tight`` crops to the drawing (a second draw; our figures use constrained layout)."""
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=PNG_DPI, bbox_inches="tight" if tight else None)
        _close(figure)
        return self._wrote(atomic_write_bytes(self.out_dir / f"{name}.png", buffer.getvalue()))

    def skip(self, name: str, reason: str, placeholder: tuple[str, ...] = ()) -> None:
        """Record a figure that could not be made; write a placeholder saying why in each
        format of ``placeholder`` ("html", "png")."""
        _logger.warning("report: %s skipped: %s", name, reason)
        note = f" ({' and '.join(placeholder)} placeholder written)" if placeholder else ""
        self.skipped.append((name, reason + note))
        if "html" in placeholder:
            self.html(name, [placeholder_plotly(name, reason)])
        if "png" in placeholder:
            self.png(name, placeholder_png(name, reason))

    def attempt(self, name: str, make: Callable[[], None], formats: tuple[str, ...] = BOTH) -> None:
        """Run ``make`` (which writes ``formats``); an exception becomes a skipped figure with
        placeholders in those formats."""
        try:
            make()
        except Exception as exc:
            _logger.debug("report: %s failed", name, exc_info=True)
            self.skip(name, f"{type(exc).__name__}: {exc}", placeholder=formats)


def _close(figure: Figure) -> None:
    """Release a figure pyplot made (Optuna's plots); our own figures are not pyplot's."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(figure)


def new_figure(width: float = 8.0, height: float = 5.5) -> tuple[Figure, object]:
    """A pyplot-free matplotlib figure with one axes (constrained layout)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def placeholder_plotly(name: str, reason: str) -> go.Figure:
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.add_annotation(
        text=f"{name}: not drawn<br>{html.escape(reason)}",
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 16},
    )
    figure.update_layout(
        title=f"{name} (not drawn)", xaxis_visible=False, yaxis_visible=False, height=400
    )
    return figure


def placeholder_png(name: str, reason: str) -> Figure:
    import textwrap

    figure, axes = new_figure(8.0, 3.0)
    axes.set_axis_off()
    axes.text(
        0.5,
        0.5,
        f"{name}: not drawn\n\n" + textwrap.fill(reason, 80),
        ha="center",
        va="center",
        fontsize=11,
        transform=axes.transAxes,
    )
    return figure


def untrained_position(
    objective: Objective, feasible: list[float], actual: list[float]
) -> list[float]:
    """Where to draw infeasible trials' values of ``objective``: a score they report
    untrained (``Objective.untrained``: F1 0, loss 1e9) goes just past the worst feasible
    value, so it does not squash the axis; a cost is real and stays where it is."""
    if not objective.score or not feasible:
        return actual
    low, high = min(feasible), max(feasible)
    pad = 0.06 * (high - low) or 0.06 * abs(high) or 0.06
    return [low - pad if objective.maximize else high + pad] * len(actual)


def scale_for(values: list[float]) -> str:
    """``log`` for positive values spanning more than two decades, else ``linear``."""
    positive = [v for v in values if v > 0]
    if len(positive) == len(values) and positive and max(positive) > 100 * min(positive):
        return "log"
    return "linear"
