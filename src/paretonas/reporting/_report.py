"""``write_report``: the study, the finalists and their test metrics -> tables and figures."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import optuna

from paretonas.reporting._confusion import write_confusion
from paretonas.reporting._figures import FigureWriter
from paretonas.reporting._history import (
    write_history,
    write_importances,
    write_parallel,
)
from paretonas.reporting._hypervolume import write_hypervolume
from paretonas.reporting._inputs import finalist_rows, read_finalists
from paretonas.reporting._pareto import write_pareto
from paretonas.reporting._summary import write_summary_csv, write_summary_md
from paretonas.reporting._trials import TrialTable
from paretonas.search.study import open_study

_logger = logging.getLogger(__name__)


def write_report(
    study: optuna.Study | str | os.PathLike,
    finalists_yaml: str | os.PathLike,
    finalist_metrics: list[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    plotlyjs: str = "embed",
) -> list[Path]:
    """Write the report under ``out_dir`` and return the files written, in order.

    ``study`` is a study, a ``study.json`` or the search stage's snapshot; its recorded
    objectives name the axes. Files: ``summary.csv``, ``summary.md``; per figure an
    interactive ``.html`` (plotly) and a static ``.png`` (matplotlib): ``pareto_front``,
    ``hypervolume`` (multi-objective only), ``history_<objective>`` for each objective,
    ``param_importances`` (first objective), ``parallel_coordinate``; and
    ``confusion_<rank>.png`` per finalist. A figure that cannot be drawn never fails the
    report: it is logged and listed under "Skipped" in summary.md, and when data (not the kind
    of study) is the reason, a placeholder saying why takes its place, so a multi-objective
    study always yields the same files. ``plotlyjs``: see ``FigureWriter`` (``embed`` works
    offline).

    Raises ReportError when the inputs are missing, malformed or disagree with each other.
    """
    if not isinstance(study, optuna.Study):
        study = open_study(study)
    out_dir = Path(out_dir)
    table = TrialTable.from_study(study)
    objectives = table.objectives
    finalists = read_finalists(finalists_yaml)
    if finalists.get("study") not in (None, study.study_name):
        _logger.warning(
            "%s is for study %s, the report is for %s",
            finalists_yaml,
            finalists["study"],
            study.study_name,
        )
    rows = finalist_rows(finalists, list(finalist_metrics))
    writer = FigureWriter(out_dir, plotlyjs)
    _logger.info(
        "report of %s: %s; %d finalists -> %s", study.study_name, table.counts(), len(rows), out_dir
    )

    write_pareto(writer, table, rows)
    hypervolume = finalists.get("hypervolume")
    hypervolume = hypervolume if isinstance(hypervolume, dict) else None
    write_hypervolume(writer, table, rows, hypervolume)
    for j in range(len(objectives)):
        write_history(writer, table, j, rows)
    importances = write_importances(writer, study, table)
    write_parallel(writer, study, table, importances)
    for row in rows:
        write_confusion(writer, row)

    figures = list(dict.fromkeys(path.name for path in writer.files if path.suffix != ".js"))
    written = [write_summary_csv(out_dir / "summary.csv", rows)]
    written.append(
        write_summary_md(
            out_dir / "summary.md",
            study_name=study.study_name,
            objectives=objectives,
            counts=table.counts(),
            hypervolume=hypervolume,
            rows=rows,
            figures=figures,
            skipped=writer.skipped,
        )
    )
    written += list(dict.fromkeys(writer.files))
    _logger.info(
        "report: %d files in %s; %d figure(s) skipped", len(written), out_dir, len(writer.skipped)
    )
    return written
