"""The trial attributes the search writes and every stage reads, by name, and how to read
them. User attributes (``trial.user_attrs``) unless said otherwise."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

# One user attribute, RECORD, holds the keys below as a mapping: a trial writes it twice
# (at the start: who runs it and where it archives; at the end: everything), not once per
# key. Read them with ``get``, which also reads studies that stored each key on its own.
RECORD = "paretonas"
ARCHIVE = "archive"  # the trial's archive directory (model.yaml, hparams.yaml, metrics.json)
WORKER = "worker"  # the worker id that ran it
CONFIG_HASH = "config_hash"  # spec + hyperparameters: identical configurations share it
SPEC = "spec"  # the model YAML text
COSTS = "costs"  # {params, macs, latency_ms, model_bytes}: known before training
CURVE = "val_f1_curve"  # [[step, validation F1], ...] at each evaluation
F1_SE = "val_f1_se"  # standard error of the trial's validation F1 (bootstrap of the split)
TRAIN_SECONDS = "train_seconds"  # wall seconds of training (fit), evaluations included
BUDGET_STEPS = "budget_steps"  # the trial's budget in optimizer steps
SHADOW_PRUNE = "shadow_prune"  # pruning.mode shadow: {rung, step, seconds, reason} it would have
INFEASIBLE = "infeasible"  # why the pre-filter refused it (never trained)
REUSED_FROM = "reused_from"  # the trial whose values an identical configuration reused
RETRIED_FROM = "retried_from"  # the failed trial whose parameters this one re-runs (own key)
PRUNE_REASON = "prune_reason"
FAIL_REASON = "fail_reason"
# its own user attribute, written at each rung (other workers rank against it while this
# trial runs): {"costs": {...}, "<rung>": {step, f1, se, seconds}}
RUNGS = "paretonas:rungs"
# system attribute (ours, not the user's): journal storage's lease on a running trial
LEASE_UNTIL = "paretonas:lease_until"
# study user attribute: what the data says about scores ({num_classes, search_val_per_class})
DATA = "paretonas:data"

OUTCOMES = ("complete", "infeasible", "pruned", "fail", "running", "waiting")


def get(trial: FrozenTrial, key: str, default: Any = None) -> Any:
    """The trial's ``key`` from its RECORD (or, in older studies, its own attribute)."""
    record = trial.user_attrs.get(RECORD)
    if isinstance(record, dict) and key in record:
        return record[key]
    return trial.user_attrs.get(key, default)


def is_infeasible(trial: FrozenTrial) -> bool:
    """Recorded infeasible by the pre-filter, or any Optuna constraint above zero."""
    return bool(get(trial, INFEASIBLE)) or any(value > 0 for value in trial.constraints.values())


def outcome(trial: FrozenTrial) -> str:
    """``complete`` (trained and feasible), ``infeasible``, ``pruned``, ``fail``, ``running``
    or ``waiting``."""
    if trial.state == TrialState.COMPLETE:
        if is_infeasible(trial):
            return "infeasible"
        return "complete" if trial.values is not None else "fail"
    return trial.state.name.lower()


def reason(trial: FrozenTrial) -> str:
    """Why a trial did not complete (pruned, failed, infeasible); empty otherwise."""
    if outcome(trial) == "infeasible":
        return str(get(trial, INFEASIBLE) or "constraint violated")
    return str(get(trial, PRUNE_REASON) or get(trial, FAIL_REASON) or "")


def candidates(trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """Complete, feasible, trained trials, by number; of identical configurations (same config
    hash, e.g. a trial that reused an earlier one's values) only the first. Select's candidates
    and the report's front are both this set."""
    seen: set[str] = set()
    out = []
    for trial in sorted(trials, key=lambda t: t.number):
        if outcome(trial) != "complete":
            continue
        key = get(trial, CONFIG_HASH) or f"#{trial.number}"
        if key in seen:
            continue
        seen.add(key)
        out.append(trial)
    return out


def study_candidates(study: optuna.Study) -> list[FrozenTrial]:
    return candidates(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
