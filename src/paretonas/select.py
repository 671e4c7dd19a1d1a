"""Pareto front -> K finalists, by a documented rule.

Candidates are the study's complete, feasible trials (``search.attrs.candidates``: infeasible
trials and repeated configurations excluded), with the profiled latency where the profile
step timed them (when latency is an objective, only those: the rest were dominated even by
the estimate). Objective values become losses on a common scale (``paretonas.pareto``:
``1 - F1``, ``cost / (1.1 x max)``), so that the knee and the hypervolume mean something across
units; the hypervolume's reference point is (1, ..., 1): F1 0 and 1.1x the largest cost seen.

Dominance is noise-aware: an F1 difference within ``f1_noise`` standard errors of the
difference (each trial's bootstrap over the search validation split) decides nothing, so of two
models that tie within the noise the cheaper one is ahead.

Only trials whose F1 reaches ``min_f1`` (by default ``chance + 0.2 x (1 - chance)``, see
``paretonas.chance``) can be finalists; of those, the ones reaching ``min_relative_score`` x the
best F1 are preferred. Finalist slots, filled in order:

1. the best trial in the first maximized objective (F1 by default; ties: fewer losses summed);
2. the knee: the front member nearest (Euclidean) to the ideal point after min-max scaling;
3. then the largest exclusive hypervolume contributions.

If the front has fewer than K members, the same rule fills from the next non-dominated layer,
then from the trials below the relative floor (best F1 first). A slot no trial qualifies for
stays empty, with the reason and advice: a chance-level model is never a finalist.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import yaml

from paretonas import pareto
from paretonas.chance import ADVICE, chance_f1, default_min_f1
from paretonas.objectives import Objective
from paretonas.profile import read_profile
from paretonas.search import attrs
from paretonas.search.study import objectives_of, open_study
from paretonas.tables import write_csv
from paretonas.yamlio import atomic_write_text

_logger = logging.getLogger(__name__)
_CONSTRAINT_KEY = re.compile(r"search\.constraints\.\w+")


@dataclass(frozen=True)
class Candidate:
    number: int
    values: tuple[float, ...]
    archive: str
    f1_se: float = 0.0  # standard error of its validation F1
    estimate_ms: float | None = None  # the search's latency estimate (costs.latency_ms)


@dataclass(frozen=True)
class Finalist:
    """A filled slot (``candidate``), or an empty one (``candidate`` None, ``why`` says why)."""

    rank: int
    candidate: Candidate | None
    front: int | None
    why: str
    advice: str = ""


def candidates(
    study: optuna.Study,
    trials_dir: str | os.PathLike | None = None,
    latency: dict[int, float] | None = None,
) -> list[Candidate]:
    """The study's candidates (``attrs.candidates``); each archive under ``trials_dir`` when
    given (the search stage's snapshot), else where the worker wrote it. With ``latency``
    (trial -> profiled ms) and latency among the objectives, only profiled trials, with the
    profiled figure in place of the search's estimate."""
    names = objectives_of(study)
    column = next((j for j, o in enumerate(names) if o.name == "latency_ms"), None)
    out = []
    for trial in attrs.study_candidates(study):
        values = list(trial.values)
        if latency is not None and column is not None:
            if trial.number not in latency:
                continue
            values[column] = latency[trial.number]
        archive = (
            str(Path(trials_dir) / str(trial.number))
            if trials_dir is not None
            else attrs.get(trial, attrs.ARCHIVE, "")
        )
        se = float(attrs.get(trial, attrs.F1_SE) or 0.0)
        estimate = (attrs.get(trial, attrs.COSTS) or {}).get("latency_ms")
        out.append(Candidate(trial.number, tuple(values), archive, se, estimate))
    return out


def choose(
    cands: list[Candidate],
    objectives: list[Objective],
    k: int,
    min_relative_score: float = 0.0,
    *,
    min_f1: float | None = None,
    f1_noise: float = 0.0,
    chance: float | None = None,
    infeasible: list[str] | None = None,
) -> list[Finalist]:
    """The K finalists, by the rule in the module docstring (empty slots included).
    ``infeasible``: the reasons of the study's infeasible trials (an empty slot's advice)."""
    first_max = next((j for j, o in enumerate(objectives) if o.maximize), None)

    def score(c: Candidate) -> float:
        return c.values[first_max] if first_max is not None else 0.0

    qualified = list(cands)
    if first_max is not None and min_f1 is not None:
        qualified = [c for c in cands if score(c) >= min_f1]
    eligible, rest = list(qualified), []
    if first_max is not None and min_relative_score > 0 and qualified:
        floor = min_relative_score * max(score(c) for c in qualified)
        eligible = [c for c in qualified if score(c) >= floor]
        rest = sorted((c for c in qualified if score(c) < floor), key=lambda c: -score(c))
    among = "" if len(eligible) == len(qualified) else " of the trials within min_relative_score"
    chosen = _choose_from_layers(eligible, objectives, k, first_max or 0, f1_noise, among)
    for candidate in rest[: k - len(chosen)]:
        name = objectives[first_max].name
        _logger.warning(
            "too few trials reach select.min_relative_score; adding trial %d", candidate.number
        )
        why = f"best remaining {name} (fewer than k trials reach select.min_relative_score)"
        chosen.append(Finalist(len(chosen) + 1, candidate, -1, why))
    if len(chosen) < k:
        why, advice = _why_empty(cands, qualified, objectives, first_max, min_f1, chance, k)
        if infeasible and len(infeasible) >= len(cands):
            why, advice = _why_infeasible(cands, infeasible, k)
        _logger.warning("select: %d of %d finalist slot(s) empty: %s", k - len(chosen), k, why)
        chosen += [
            Finalist(rank, None, None, why, advice) for rank in range(len(chosen) + 1, k + 1)
        ]
    return chosen


def _why_empty(
    cands: list[Candidate],
    qualified: list[Candidate],
    objectives: list[Objective],
    first_max: int | None,
    min_f1: float | None,
    chance: float | None,
    k: int,
) -> tuple[str, str]:
    """Why some slots stay empty, and what to do."""
    if len(qualified) < len(cands) and first_max is not None and min_f1 is not None:
        best = max((c.values[first_max] for c in cands), default=0.0)
        where = f", chance {chance:.3f}" if chance is not None else ""
        return (
            f"no finalist: only {len(qualified)} trial(s) reach select.min_f1 = {min_f1:.3f}"
            f"{where} (the best {objectives[first_max].name} is {best:.3f})",
            ADVICE,
        )
    return (
        f"no finalist: only {len(cands)} complete feasible trial(s) to choose from for "
        f"select.k = {k}",
        "raise search.n_trials (a re-run continues the study) or lower select.k",
    )


def _why_infeasible(cands: list[Candidate], infeasible: list[str], k: int) -> tuple[str, str]:
    """Empty slots when most trials broke a constraint: more trials would not help."""
    keys = sorted({key for reason in infeasible for key in _CONSTRAINT_KEY.findall(reason)})
    limits = ", ".join(keys) or "search.constraints"
    return (
        f"no finalist: only {len(cands)} complete feasible trial(s) for select.k = {k}; "
        f"{len(infeasible)} trial(s) broke {limits} (first: {infeasible[0]})",
        f"raise {limits} or offer smaller models in the search space "
        "(more trials of the same space would break it too)",
    )


def _choose_from_layers(
    cands: list[Candidate],
    objectives: list[Objective],
    k: int,
    first_max: int,
    f1_noise: float,
    among: str = "",
) -> list[Finalist]:
    if not cands:
        return []
    points = pareto.losses(np.array([c.values for c in cands]), objectives)
    noise = _noise(cands, objectives, f1_noise)
    chosen: list[Finalist] = []
    for layer_index, layer in enumerate(pareto.nondominated_layers(points, noise)):
        where = "front" if layer_index == 0 else f"non-dominated layer {layer_index}"
        where += among
        best_why = f"best {objectives[first_max].name} on the {where}"
        for i, why in _layer_picks(points, layer, first_max, k - len(chosen), where, best_why):
            chosen.append(Finalist(len(chosen) + 1, cands[i], layer_index, why))
        if len(chosen) == k:
            break
    return chosen


def _noise(cands: list[Candidate], objectives: list[Objective], f1_noise: float) -> np.ndarray:
    """Each value's standard error in loss units: F1's from its bootstrap, the rest none."""
    noise = np.zeros((len(cands), len(objectives)))
    for j, objective in enumerate(objectives):
        if objective.name == "f1":
            noise[:, j] = [f1_noise * c.f1_se for c in cands]
    return noise


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
    *,
    latency_csv: str | os.PathLike | None = None,
    min_f1: float | None = None,
    f1_noise: float = 1.0,
) -> dict[str, Any]:
    """The select stage: ``study`` (a study, a ``study.json`` or the search stage's snapshot)
    -> its front layers in ``pareto_csv`` and the K finalists in ``finalists_yaml``.
    ``latency_csv``: the profile step's figures; ``min_f1`` None derives it from the study's
    class count (``paretonas.chance``)."""
    if not isinstance(study, optuna.Study):
        study = open_study(study)
    objectives = objectives_of(study)
    names = [o.name for o in objectives]
    profiled = read_profile(latency_csv) if latency_csv is not None else None
    cands = candidates(study, trials_dir, profiled)
    num_classes = (study.user_attrs.get(attrs.DATA) or {}).get("num_classes")
    chance = chance_f1(num_classes) if num_classes else None
    if min_f1 is None and num_classes:
        min_f1 = default_min_f1(num_classes)
    finalists = choose(
        cands,
        objectives,
        k,
        min_relative_score,
        min_f1=min_f1,
        f1_noise=f1_noise,
        chance=chance,
        infeasible=[
            attrs.reason(t)
            for t in study.get_trials(deepcopy=False)
            if attrs.outcome(t) == "infeasible"
        ],
    )  # before the cut below: an empty slot's reason counts every candidate
    # the front: of the trials that learned something (a chance-level model trades nothing)
    f1 = names.index("f1") if "f1" in names else None
    below = [c for c in cands if f1 is not None and min_f1 is not None and c.values[f1] < min_f1]
    cands = [c for c in cands if c not in below]
    hypervolume, reference, layers = 0.0, {}, []
    if cands:
        values = np.array([c.values for c in cands])
        # rounded as recorded, so the report recomputes exactly this hypervolume from the file
        reference = {n: round(v, 6) for n, v in pareto.reference_point(values, objectives).items()}
        points = pareto.to_losses(values, objectives, reference)
        hypervolume = pareto.hypervolume(points)
        layers = pareto.nondominated_layers(points, _noise(cands, objectives, f1_noise))
    layer_of = {cands[i].number: n for n, layer in enumerate(layers) for i in layer}
    chosen_layers = [layer_of[f.candidate.number] for f in finalists if f.candidate is not None]
    used = max(chosen_layers, default=0)
    write_csv(front_table(cands, layers[: used + 1], names, profiled is not None), pareto_csv)
    record = {
        "study": study.study_name,
        "k": k,
        "candidates": len(cands),
        "below_min_f1": len(below),
        "front_size": len(layers[0]) if layers else 0,
        "latency": (
            f"profiled ({latency_csv})"
            if profiled is not None
            else "the search's estimate (estimate_latency_ms), not a measurement"
        ),
        "chance_f1": chance,
        "min_f1": min_f1,
        "f1_noise": f1_noise,
        "hypervolume": {
            "value": hypervolume,
            "losses": {
                o.name: ("1 - value" if o.maximize else f"value / {reference[o.name]:.6g}")
                for o in objectives
                if reference
            },
            "reference_point": reference,
        },
        "finalists": [_finalist_record(f, names, layer_of) for f in finalists],
    }
    atomic_write_text(finalists_yaml, yaml.safe_dump(record, sort_keys=False))
    _logger.info(
        "front of %d (hypervolume %.4f); finalists: %s",
        record["front_size"],
        hypervolume,
        ", ".join(
            f"#{f.candidate.number} ({f.why})" if f.candidate else f"(empty: {f.why})"
            for f in finalists
        ),
    )
    return record


def front_table(
    cands: list[Candidate], layers: list[list[int]], names: list[str], profiled: bool
) -> pd.DataFrame:
    """pareto.csv: a row per candidate in ``layers`` (indices into ``cands``), layer by layer
    and by trial number within one: ``trial``, ``front`` (the layer), the objectives (latency
    as ``latency_ms_profiled`` or ``latency_ms_estimate``, the estimate beside a profiled
    figure), ``f1_se`` and ``archive``."""
    label = "latency_ms_profiled" if profiled else "latency_ms_estimate"
    columns = [label if n == "latency_ms" else n for n in names]
    both = profiled and "latency_ms" in names  # the profiled figure, and the estimate beside
    rows = []
    for layer_index, layer in enumerate(layers):
        for i in sorted(layer, key=lambda i: cands[i].number):
            row = {"trial": cands[i].number, "front": layer_index}
            row.update(zip(columns, cands[i].values, strict=True))
            if both:
                row["latency_ms_estimate"] = cands[i].estimate_ms
            rows.append({**row, "f1_se": cands[i].f1_se, "archive": cands[i].archive})
    order = ["trial", "front", *columns, *(["latency_ms_estimate"] if both else []), "f1_se"]
    return pd.DataFrame(rows, columns=[*order, "archive"]).astype({c: float for c in order[2:]})


def _finalist_record(
    finalist: Finalist, names: list[str], layer_of: dict[int, int]
) -> dict[str, Any]:
    """A slot as finalists.yaml records it; ``front`` is the layer in pareto.csv."""
    candidate = finalist.candidate
    if candidate is None:
        return {
            "rank": finalist.rank,
            "trial": None,
            "archive": None,
            "front": None,
            "why": finalist.why,
            "advice": finalist.advice,
            "values": None,
        }
    return {
        "rank": finalist.rank,
        "trial": candidate.number,
        "archive": candidate.archive,
        "front": layer_of.get(candidate.number),
        "why": finalist.why,
        "values": dict(zip(names, candidate.values, strict=True)),
        "f1_se": candidate.f1_se,
    }
