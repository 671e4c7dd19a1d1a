"""``summary.csv`` (one row per finalist) and ``summary.md`` (the same table, the study in a few
lines, the figures and what was skipped)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from paretonas.objectives import Objective
from paretonas.reporting._inputs import FinalistRow
from paretonas.tables import escape, markdown, write_csv
from paretonas.yamlio import atomic_write_text

CSV_COLUMNS = (
    "rank",
    "trial",
    "why",
    "test_accuracy",
    "test_f1_macro",
    "test_f1_low",
    "test_f1_high",
    "params",
    "macs",
    "latency_ms",  # written as latency_ms_profiled or latency_ms_estimate: it says which
    "search_val_f1",
    "search_f1_se",
    "archive",
)
INTEGER_COLUMNS = ("rank", "trial", "params", "macs")  # an empty slot leaves them empty


def summary_frame(rows: list[FinalistRow], profiled: bool) -> pd.DataFrame:
    """One row per finalist slot (an empty slot: no trial, its reason as ``why``)."""
    records = []
    for row in rows:
        interval = row.test_f1_interval or (None, None)
        values = {**vars(row), "test_f1_low": interval[0], "test_f1_high": interval[1]}
        records.append({column: values.get(column) for column in CSV_COLUMNS})
    frame = pd.DataFrame(records, columns=list(CSV_COLUMNS))
    numbers = [c for c in CSV_COLUMNS if c not in ("why", "archive")]
    frame = frame.astype(
        {c: "Int64" if c in INTEGER_COLUMNS else "float64" for c in numbers}
        | {"why": "string", "archive": "string"}
    )
    latency = "latency_ms_profiled" if profiled else "latency_ms_estimate"
    return frame.rename(columns={"latency_ms": latency})


def write_summary_csv(path: Path, rows: list[FinalistRow], profiled: bool) -> Path:
    """``summary_frame`` as CSV at ``path``."""
    return write_csv(summary_frame(rows, profiled), path)


def _number(value: Any, digits: int | None = None) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "n/a"
    if digits is None:
        return f"{int(value):,}"
    return f"{float(value):.{digits}f}"


def finalist_table(rows: list[FinalistRow], profiled: bool = True) -> str:
    """The finalist slots as a markdown table (numbers right-aligned)."""
    latency = "latency (ms, profiled)" if profiled else "latency (ms, search estimate)"
    headers = [
        "rank",
        "trial",
        "why",
        "test accuracy",
        "test macro-F1 (95% interval)",
        "params",
        "MACs",
        latency,
        "search val F1 ± SE",
    ]
    cells = []
    for row in rows:
        if row.empty:
            cells.append([str(row.rank), "–", row.why] + ["–"] * (len(headers) - 3))
            continue
        f1 = _number(row.test_f1_macro, 4)
        if row.test_f1_interval is not None:
            f1 += f" ({row.test_f1_interval[0]:.3f}–{row.test_f1_interval[1]:.3f})"
        search = _number(row.search_val_f1, 4)
        if row.search_f1_se is not None:
            search += f" ± {row.search_f1_se:.3f}"
        cells.append(
            [
                str(row.rank),
                str(row.trial),
                row.why,
                _number(row.test_accuracy, 4),
                f1,
                _number(row.params),
                _number(row.macs),
                _number(row.latency_ms, 3),
                search,
            ]
        )
    return markdown(pd.DataFrame(cells, columns=headers), left=["why"])


def write_summary_md(
    path: Path,
    *,
    study_name: str,
    objectives: list[Objective],
    counts: dict[str, int],
    hypervolume: dict[str, Any] | None,
    rows: list[FinalistRow],
    figures: list[str],
    skipped: list[tuple[str, str]],
    banners: list[str] = (),
    latency: str = "",
    profiled: bool = False,
    pruning: str = "",
    deployment: str = "",
    sections: Sequence[str] = (),
) -> Path:
    """The readable summary; ``figures`` are file names relative to ``path``'s directory.
    ``banners`` open it (empty slots, a search that learned nothing); ``latency`` says which
    latency the table shows and how it was measured; ``deployment``: the float and int8
    table (``deployment_table``), under the finalists; ``sections`` (markdown lines) follow."""
    finished = counts["complete"] + counts["infeasible"] + counts["pruned"]
    lines = [f"# paretonas report: {study_name}", ""]
    lines += [f"> **Warning:** {escape(banner)}\n" for banner in banners]
    lines += [
        f"- **Study**: `{study_name}`",
        "- **Objectives**: " + ", ".join(o.describe() for o in objectives),
        f"- **Trials**: {finished} finished ({counts['complete']} complete and feasible, "
        f"{counts['infeasible']} infeasible, {counts['pruned']} pruned); {counts['fail']} failed"
        + (
            f"; {counts['running'] + counts['waiting']} running or waiting"
            if counts["running"] + counts["waiting"]
            else ""
        ),
    ]
    if len(objectives) > 1 and hypervolume and hypervolume.get("value") is not None:
        reference = hypervolume.get("reference_point") or {}
        ref_text = ", ".join(f"{k} = {v:g}" for k, v in reference.items())
        lines.append(
            f"- **Hypervolume** of the feasible front: {float(hypervolume['value']):.4f}"
            + (f" (reference point: {ref_text})" if ref_text else "")
        )
    if latency:
        lines.append(f"- **Latency**: {latency}")
    if pruning:
        lines.append(f"- **Pruning**: {pruning}")
    lines += ["", "## Finalists", "", finalist_table(rows, profiled), ""]
    if deployment:
        lines += ["### Float and int8", "", deployment, ""]
    lines += [*sections, *([""] if sections else [])]
    lines += ["## Figures", ""]
    pngs = [f for f in figures if f.endswith(".png")]
    pages = {Path(f).stem: f for f in figures if f.endswith(".html")}
    for png in pngs:
        stem = Path(png).stem
        link = f" ([interactive]({pages[stem]}))" if stem in pages else ""
        lines += [f"### {stem}{link}", "", f"![{stem}]({png})", ""]
    lines += [
        f"- [{stem}]({page})"
        for stem, page in pages.items()
        if not any(Path(p).stem == stem for p in pngs)
    ]
    lines += ["## Skipped", ""] if lines[-1] == "" else ["", "## Skipped", ""]
    lines += [f"- **{name}**: {escape(reason)}" for name, reason in skipped] or ["- none"]
    return atomic_write_text(path, "\n".join(lines).rstrip() + "\n")
