"""Tables as pandas DataFrames, written the project's way: CSV atomically, Markdown for
summaries, plain text for the terminal.

Every table the workflow writes (``trials.csv``, ``pareto.csv``, ``summary.csv``) goes through
``write_csv``, so readers see the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from paretonas.yamlio import atomic_write_text


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """``frame`` as CSV at ``path`` (no index; missing values empty; ``\\n`` line ends),
    written atomically."""
    return atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))


def markdown(frame: pd.DataFrame, left: Iterable[str] = ()) -> str:
    """``frame`` (its cells already formatted) as a Markdown pipe table: columns in ``left``
    aligned left, the rest (numbers) right; ``|`` and newlines in cells escaped."""
    left = set(left)
    header = [str(column) for column in frame.columns]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if c in left else "---:" for c in frame.columns) + "|",
    ]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(escape(str(cell)) for cell in row) + " |")
    return "\n".join(lines)


def escape(text: str) -> str:
    """A Markdown table cell: ``|`` escaped, one line."""
    return text.replace("|", "\\|").replace("\n", " ")


def text(frame: pd.DataFrame, empty: str = "(none)") -> str:
    """``frame`` for a terminal: aligned columns, no index; ``empty`` when it has no rows."""
    if frame.empty:
        return empty
    return frame.to_string(index=False)


__all__ = ["escape", "markdown", "text", "write_csv"]
