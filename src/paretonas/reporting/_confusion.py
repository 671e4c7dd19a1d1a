"""``confusion_<rank>.png``: each finalist's test confusion matrix, counts in the cells."""

from __future__ import annotations

import logging

import numpy as np

from paretonas.reporting._figures import FigureWriter, new_figure
from paretonas.reporting._inputs import FinalistRow

_logger = logging.getLogger(__name__)

MAX_ANNOTATED_CLASSES = 30  # beyond this the counts would not fit in the cells


def write_confusion(writer: FigureWriter, finalist: FinalistRow) -> None:
    """Rows are true classes, columns predictions; the color is the row's share (recall), so
    classes of different sizes read alike, while the cells print the raw counts."""
    name = f"confusion_{finalist.rank}"
    if not finalist.confusion:
        where = finalist.metrics_path or "no metrics.json given"
        writer.skip(name, f"finalist #{finalist.rank}: no test.confusion_matrix ({where})")
        return
    writer.attempt(name, lambda: _draw(writer, name, finalist), ("png",))


def _draw(writer: FigureWriter, name: str, finalist: FinalistRow) -> None:
    counts = np.asarray(finalist.confusion, dtype=int)
    n = counts.shape[0]
    if counts.ndim != 2 or counts.shape != (n, n):
        raise ValueError(f"confusion matrix of shape {counts.shape} is not square")
    labels = finalist.class_names if len(finalist.class_names) == n else [str(i) for i in range(n)]
    rows = counts.sum(axis=1, keepdims=True)
    share = counts / np.where(rows > 0, rows, 1)
    size = min(4.0 + 0.45 * n, 16.0)
    figure, axes = new_figure(size + 1.2, size)
    image = axes.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="share of the true class (recall)", shrink=0.8)
    axes.set_xticks(
        range(n),
        labels,
        rotation=45 if max(map(len, labels)) > 3 else 0,
        ha="right" if max(map(len, labels)) > 3 else "center",
    )
    axes.set_yticks(range(n), labels)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    if n <= MAX_ANNOTATED_CLASSES:
        for i in range(n):
            for j in range(n):
                axes.text(
                    j,
                    i,
                    str(counts[i, j]),
                    ha="center",
                    va="center",
                    fontsize=9 if n <= 15 else 7,
                    color="white" if share[i, j] > 0.6 else "black",
                )
    accuracy = f"{finalist.test_accuracy:.4f}" if finalist.test_accuracy is not None else "n/a"
    f1 = f"{finalist.test_f1_macro:.4f}" if finalist.test_f1_macro is not None else "n/a"
    axes.set_title(
        f"Finalist #{finalist.rank} (trial {finalist.trial}): test confusion matrix\n"
        f"accuracy {accuracy}, macro-F1 {f1}, {int(counts.sum())} images",
        fontsize=11,
    )
    writer.png(name, figure)
