"""The trial attributes the search writes and every stage reads, by name, and how to read
them. User attributes (``trial.user_attrs``) unless said otherwise."""

from __future__ import annotations

from collections.abc import Iterable

import optuna
from optuna.trial import FrozenTrial, TrialState

ARCHIVE = "archive"  # the trial's archive directory (model.yaml, hparams.yaml, metrics.json)
WORKER = "worker"  # the worker id that ran it
CONFIG_HASH = "config_hash"  # spec + hyperparameters: identical configurations share it
SPEC = "spec"  # the model YAML text
COSTS = "costs"  # {params, macs, latency_ms, model_bytes}: known before training
CURVE = "val_f1_curve"  # validation F1 after each epoch
F1_SE = "val_f1_se"  # standard error of the trial's validation F1 (bootstrap of the split)
INFEASIBLE = "infeasible"  # why the pre-filter refused it (never trained)
REUSED_FROM = "reused_from"  # the trial whose values an identical configuration reused
RETRIED_FROM = "retried_from"  # the failed trial whose parameters this one re-runs
PRUNE_REASON = "prune_reason"
FAIL_REASON = "fail_reason"
# system attribute (ours, not the user's): journal storage's lease on a running trial
LEASE_UNTIL = "paretonas:lease_until"
# study user attribute: what the data says about scores ({num_classes, search_val_per_class})
DATA = "paretonas:data"

OUTCOMES = ("complete", "infeasible", "pruned", "fail", "running", "waiting")


def is_infeasible(trial: FrozenTrial) -> bool:
    """Recorded infeasible by the pre-filter, or any Optuna constraint above zero."""
    return bool(trial.user_attrs.get(INFEASIBLE)) or any(
        value > 0 for value in trial.constraints.values()
    )


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
    attrs = trial.user_attrs
    if outcome(trial) == "infeasible":
        return str(attrs.get(INFEASIBLE) or "constraint violated")
    return str(attrs.get(PRUNE_REASON) or attrs.get(FAIL_REASON) or "")


def candidates(trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """Complete, feasible, trained trials, by number; of identical configurations (same config
    hash, e.g. a trial that reused an earlier one's values) only the first. Select's candidates
    and the report's front are both this set."""
    seen: set[str] = set()
    out = []
    for trial in sorted(trials, key=lambda t: t.number):
        if outcome(trial) != "complete":
            continue
        key = trial.user_attrs.get(CONFIG_HASH) or f"#{trial.number}"
        if key in seen:
            continue
        seen.add(key)
        out.append(trial)
    return out


def study_candidates(study: optuna.Study) -> list[FrozenTrial]:
    return candidates(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
