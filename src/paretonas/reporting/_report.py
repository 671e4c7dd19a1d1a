"""``write_report``: the study, the finalists and their test metrics -> tables and figures."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import optuna

from paretonas.chance import learned_nothing, nothing_learned_message
from paretonas.profile import read_profile
from paretonas.reporting._baseline import baseline_section, write_timing
from paretonas.reporting._confusion import write_confusion
from paretonas.reporting._deployment import deployment_table, read_deployment
from paretonas.reporting._figures import FigureWriter
from paretonas.reporting._history import (
    write_history,
    write_importances,
    write_parallel,
)
from paretonas.reporting._hypervolume import write_hypervolume
from paretonas.reporting._inputs import finalist_rows, read_finalists, read_json
from paretonas.reporting._pareto import write_pareto
from paretonas.reporting._summary import write_summary_csv, write_summary_md
from paretonas.reporting._trials import TrialTable
from paretonas.search import attrs
from paretonas.search.study import open_study

_logger = logging.getLogger(__name__)


def write_report(
    study: optuna.Study | str | os.PathLike,
    finalists_yaml: str | os.PathLike,
    finalist_metrics: list[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    plotlyjs: str = "embed",
    latency_csv: str | os.PathLike | None = None,
    profile_json: str | os.PathLike | None = None,
    deployment_csv: str | os.PathLike | None = None,
    baseline_json: str | os.PathLike | None = None,
    estimate: dict | None = None,
    benchmarks_dir: str | os.PathLike | None = None,
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
    offline). ``latency_csv``/``profile_json``: the profile step's figures and record (the
    tables then show profiled latency and say so; without them, the search's estimate).
    ``deployment_csv``: the profile_finalists step's figures (finalize.quantize): summary.md
    then sets each finalist's float model and int8 twin side by side.
    ``baseline_json``: the plain CNN's metrics, shown beside the finalists; ``estimate`` (the
    config's) and ``benchmarks_dir`` (the jobs' benchmark files): predicted against actual
    time, in summary.md and ``timing.json``.

    Raises ReportError when the inputs are missing, malformed or disagree with each other.
    """
    if not isinstance(study, optuna.Study):
        study = open_study(study)
    out_dir = Path(out_dir)
    finalists = read_finalists(finalists_yaml)
    latency = read_profile(latency_csv) if latency_csv is not None else None
    table = TrialTable.from_study(
        study, latency, float(finalists.get("f1_noise") or 0.0), finalists.get("min_f1")
    )
    objectives = table.objectives
    profile = read_json(profile_json) if profile_json is not None else None
    if finalists.get("study") not in (None, study.study_name):
        _logger.warning(
            "%s is for study %s, the report is for %s",
            finalists_yaml,
            finalists["study"],
            study.study_name,
        )
    rows = finalist_rows(finalists, list(finalist_metrics))
    filled = [row for row in rows if not row.empty]  # what the figures mark
    writer = FigureWriter(out_dir, plotlyjs)
    _logger.info(
        "report of %s: %s; %d finalists -> %s", study.study_name, table.counts(), len(rows), out_dir
    )

    write_pareto(writer, table, filled)
    hypervolume = finalists.get("hypervolume")
    hypervolume = hypervolume if isinstance(hypervolume, dict) else None
    write_hypervolume(writer, table, filled, hypervolume)
    for j in range(len(objectives)):
        write_history(writer, table, j, filled)
    importances = write_importances(writer, study, table)
    write_parallel(writer, study, table, importances)
    for row in rows:
        if row.empty:  # the rule declares every slot's figure: say why this one has none
            writer.skip(
                f"confusion_{row.rank}",
                f"finalist slot #{row.rank} is empty: {row.why or 'nothing qualified'}",
                ("png",),
            )
        else:
            write_confusion(writer, row)

    figures = list(dict.fromkeys(path.name for path in writer.files if path.suffix != ".js"))
    written = [write_summary_csv(out_dir / "summary.csv", rows, latency is not None)]
    sections = baseline_section(baseline_json, rows)
    if benchmarks_dir is not None:
        timing_json, timing_lines = write_timing(out_dir / "timing.json", estimate, benchmarks_dir)
        written.append(timing_json)
        sections += timing_lines
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
            banners=banners(study, table, rows),
            latency=latency_note(profile),
            profiled=latency is not None,
            pruning=pruning_note(study),
            deployment=(
                deployment_table(rows, read_deployment(deployment_csv))
                if deployment_csv is not None
                else ""
            ),
            sections=sections,
        )
    )
    written += list(dict.fromkeys(writer.files))
    _logger.info(
        "report: %d files in %s; %d figure(s) skipped", len(written), out_dir, len(writer.skipped)
    )
    return written


def banners(study: optuna.Study, table: TrialTable, rows: list) -> list[str]:
    """What the reader must see first: empty finalist slots, a search that learned nothing."""
    out = []
    empty = [row for row in rows if row.empty]
    if empty:
        ranks = ", ".join(f"#{row.rank}" for row in empty)
        out.append(f"No finalist for slot {ranks}: {empty[0].why}. To do: {empty[0].advice}")
    num_classes = (study.user_attrs.get(attrs.DATA) or {}).get("num_classes")
    f1 = next((j for j, o in enumerate(table.objectives) if o.name == "f1"), None)
    scored = [row for row in table.of_state("complete") if row.values is not None]
    if num_classes and f1 is not None and scored:
        best = max(scored, key=lambda row: row.values[f1])
        if learned_nothing(best.values[f1], best.f1_se, num_classes):
            out.append(nothing_learned_message(best.values[f1], best.f1_se, num_classes))
    return out


def pruning_note(study: optuna.Study) -> str:
    """What MO-ASHA did: trials stopped at rungs or, in shadow mode, what it would have done
    (false prunes against the search's own front, training time it would have saved)."""
    from paretonas.search.pruning import shadow_summary

    trials = study.get_trials(deepcopy=False)
    judged = [t for t in trials if t.user_attrs.get(attrs.RUNGS)]
    if not judged:
        return ""
    shadow = shadow_summary(study)
    if shadow["would_prune"]:
        return (
            f"shadow mode: the rule would have stopped {shadow['would_prune']} of "
            f"{shadow['trials']} trained trials, {len(shadow['false_prunes'])} of them on the "
            f"search's front (false-prune rate {shadow['false_prune_rate']:.0%}), saving "
            f"{shadow['time_saved_fraction']:.0%} of the training time"
        )
    pruned = sum(1 for t in judged if t.state == optuna.trial.TrialState.PRUNED)
    return f"MO-ASHA judged {len(judged)} trials at rungs and stopped {pruned}"


def latency_note(profile: dict | None) -> str:
    """Which latency the tables show, in which runtime, how it was measured, how fast the
    host ran against its baseline, how the estimate ranked it."""
    if profile is None:
        return "the search's estimate (estimate_latency_ms), not a measurement"
    hardware = profile.get("hardware") or {}
    rho = profile.get("estimate_rank_correlation")
    runtime = profile.get("runtime_version") or profile.get("runtime") or "torch"
    text = (
        f"profiled in **{runtime}**, {profile.get('method')}, on {hardware.get('cpu', '?')} "
        f"({profile.get('models')} front candidates, pinned to CPU {profile.get('pinned_cpu')})"
    )
    if profile.get("skipped"):
        text += f"; {len(profile['skipped'])} candidate(s) could not run in it (profile.json)"
    if rho is not None:
        text += f"; the search's estimate ranked them with Spearman {rho:.2f}"
    if profile.get("reference_ms") is not None:
        text += (
            f"; the reference network took {profile['reference_ms']:.3f} ms in the same rounds "
            f"(latency.csv's `relative` column divides by it: it reproduces across runs)"
        )
    if (profile.get("slowdown") or 1.0) > 1.0:
        text += (
            f"; the host ran {profile['slowdown']:.2f}x slower than its recorded baseline "
            f"(reference network), and the figures are scaled back to the baseline speed"
        )
    if profile.get("steady") is False:
        text += (
            f"; **the host was busy while profiling** (median p10/min "
            f"{profile.get('p10_over_min')}): the figures may not reproduce within 5%, their "
            f"order does (re-run the profile step on a quiet machine)"
        )
    return text
