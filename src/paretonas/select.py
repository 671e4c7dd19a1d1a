"""Pareto front -> K finalists, by a documented rule.

Candidates are the study's complete, feasible trials (``search.attrs.candidates``: infeasible
trials and repeated configurations excluded). Objective values become losses on a common scale
(``paretonas.pareto``: ``1 - F1``, ``cost / (1.1 x max)``), so that the knee and the hypervolume
mean something across units; the hypervolume's reference point is (1, ..., 1): F1 0 and 1.1x
the largest cost seen. Finalist slots, filled in order:

1. the best trial in the first maximized objective (F1 by default; ties: fewer losses summed);
2. the knee: the front member nearest (Euclidean) to the ideal point after min-max scaling;
3. then the largest exclusive hypervolume contributions.

If the front has fewer than K members, the same rule fills from the next non-dominated layer.
Only trials whose first maximized objective reaches ``min_relative_score`` x the best value
are eligible (a 178-parameter model with F1 0.4 is on the front, but no one wants it as a
finalist); when fewer than K are eligible, the best of the rest (by that objective) fill in.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import yaml

from paretonas import pareto
from paretonas.errors import SearchError
from paretonas.objectives import Objective
from paretonas.search import attrs
from paretonas.search.study import objectives_of, open_study
from paretonas.yamlio import atomic_write_text

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    number: int
    values: tuple[float, ...]
    archive: str


@dataclass(frozen=True)
class Finalist:
    rank: int
    candidate: Candidate
    front: int
    why: str


def candidates(study: optuna.Study, trials_dir: str | os.PathLike | None = None) -> list[Candidate]:
    """The study's candidates (``attrs.candidates``); each archive under ``trials_dir`` when
    given (the search stage's snapshot), else where the worker wrote it."""
    return [
        Candidate(
            trial.number,
            tuple(trial.values),
            str(Path(trials_dir) / str(trial.number))
            if trials_dir is not None
            else trial.user_attrs.get(attrs.ARCHIVE, ""),
        )
        for trial in attrs.study_candidates(study)
    ]


def choose(
    cands: list[Candidate],
    objectives: list[Objective],
    k: int,
    min_relative_score: float = 0.0,
) -> list[Finalist]:
    """The K finalists, by the rule in the module docstring."""
    if len(cands) < k:
        raise SearchError(
            f"only {len(cands)} complete feasible trial(s) to choose from, select.k is {k}: "
            f"raise search.n_trials or lower select.k"
        )
    first_max = next((j for j, o in enumerate(objectives) if o.maximize), None)
    eligible, rest = list(cands), []
    if first_max is not None and min_relative_score > 0:
        floor = min_relative_score * max(c.values[first_max] for c in cands)
        eligible = [c for c in cands if c.values[first_max] >= floor]
        rest = sorted(
            (c for c in cands if c.values[first_max] < floor), key=lambda c: -c.values[first_max]
        )
    chosen = _choose_from_layers(eligible, objectives, k, first_max or 0)
    for candidate in rest[: k - len(chosen)]:
        name = objectives[first_max].name
        _logger.warning(
            "too few trials reach select.min_relative_score; adding trial %d", candidate.number
        )
        why = f"best remaining {name} (fewer than k trials reach select.min_relative_score)"
        chosen.append(Finalist(len(chosen) + 1, candidate, -1, why))
    return chosen


def _choose_from_layers(
    cands: list[Candidate], objectives: list[Objective], k: int, first_max: int
) -> list[Finalist]:
    points = pareto.losses(np.array([c.values for c in cands]), objectives)
    chosen: list[Finalist] = []
    for layer_index, layer in enumerate(pareto.nondominated_layers(points)):
        where = "front" if layer_index == 0 else f"non-dominated layer {layer_index}"
        best_why = f"best {objectives[first_max].name} on the {where}"
        for i, why in _layer_picks(points, layer, first_max, k - len(chosen), where, best_why):
            chosen.append(Finalist(len(chosen) + 1, cands[i], layer_index, why))
        if len(chosen) == k:
            break
    return chosen


def _layer_picks(
    points: np.ndarray, layer: list[int], first_max: int, wanted: int, where: str, best_why: str
) -> list[tuple[int, str]]:
    """Up to ``wanted`` (index, why) picks from one layer: best, knee, then HV contributions."""
    left, picks = list(layer), []
    if left and len(picks) < wanted:
        best = min(left, key=lambda i: (points[i, first_max], points[i].sum()))
        picks.append((best, best_why))
        left.remove(best)
    if left and len(picks) < wanted:  # the layer's knee (the next nearest if already taken)
        nearest = next(layer[i] for i in pareto.knee_order(points[layer]) if layer[i] in left)
        picks.append((nearest, f"knee of the {where} (nearest the ideal point)"))
        left.remove(nearest)
    while left and len(picks) < wanted:
        gains = dict(zip(left, pareto.exclusive_contributions(points[left]), strict=True))
        top = max(left, key=lambda i: (gains[i], -i))
        picks.append((top, f"largest hypervolume contribution on the {where} ({gains[top]:.4g})"))
        left.remove(top)
    return picks


def write_selection(
    study: optuna.Study | str | os.PathLike,
    k: int,
    pareto_csv: str | os.PathLike,
    finalists_yaml: str | os.PathLike,
    min_relative_score: float = 0.0,
    trials_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """The select stage: ``study`` (a study, a ``study.json`` or the search stage's snapshot)
    -> its front layers in ``pareto_csv`` and the K finalists in ``finalists_yaml``."""
    if not isinstance(study, optuna.Study):
        study = open_study(study)
    objectives = objectives_of(study)
    cands = candidates(study, trials_dir)
    finalists = choose(cands, objectives, k, min_relative_score)
    values = np.array([c.values for c in cands])
    # rounded as recorded, so the report recomputes exactly this hypervolume from the file
    reference = {k: round(v, 6) for k, v in pareto.reference_point(values, objectives).items()}
    points = pareto.to_losses(values, objectives, reference)
    layers = pareto.nondominated_layers(points)
    names = [o.name for o in objectives]
    front_hv = pareto.hypervolume(points[layers[0]])
    used_layers = max(f.front for f in finalists)
    if any(f.front < 0 for f in finalists):  # filled from below the score floor
        used_layers = len(layers) - 1
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["trial", "front", *names, "archive"])
    for layer_index, layer in enumerate(layers[: used_layers + 1]):
        for i in sorted(layer, key=lambda i: cands[i].number):
            writer.writerow([cands[i].number, layer_index, *cands[i].values, cands[i].archive])
    atomic_write_text(pareto_csv, rows.getvalue())
    record = {
        "study": study.study_name,
        "k": k,
        "candidates": len(cands),
        "front_size": len(layers[0]),
        "hypervolume": {
            "value": front_hv,
            "losses": {
                o.name: ("1 - value" if o.maximize else f"value / {reference[o.name]:.6g}")
                for o in objectives
            },
            "reference_point": reference,
        },
        "finalists": [
            {
                "rank": f.rank,
                "trial": f.candidate.number,
                "archive": f.candidate.archive,
                "front": f.front,
                "why": f.why,
                "values": dict(zip(names, f.candidate.values, strict=True)),
            }
            for f in finalists
        ],
    }
    atomic_write_text(finalists_yaml, yaml.safe_dump(record, sort_keys=False))
    _logger.info(
        "front of %d (hypervolume %.4f); finalists: %s",
        len(layers[0]),
        front_hv,
        ", ".join(f"#{f.candidate.number} ({f.why})" for f in finalists),
    )
    return record
