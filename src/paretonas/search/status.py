"""``paretonas status``: one screen on a running or finished search, built with pandas.

Trials by outcome against the target, trials per minute and the ETA, the best F1 so far, the
current Pareto front, each worker's last sign of life and the failures with their reasons.

It only reads, through ``open_study`` (SQLite, journal or PostgreSQL, the URL from the
environment and never shown with its password): on SQLite in WAL mode a reader never blocks
the workers, every read is its own short transaction, and nothing is written.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial

from paretonas import pareto
from paretonas.errors import redact
from paretonas.objectives import Objective
from paretonas.search import attrs
from paretonas.search.loop import SURPLUS
from paretonas.search.progress import duration, eta_seconds, per_minute
from paretonas.search.study import StudyError, StudyRecord, objectives_of, open_study, read_record
from paretonas.search.table import read_trials
from paretonas.tables import text

_logger = logging.getLogger(__name__)

WINDOW_S = 15 * 60  # trials per minute: over the last this many seconds (or since the start)
FRONT_ROWS = 12  # the front's best rows by the first objective; the rest are counted
FAILURE_ROWS = 5  # the latest failures; the rest are counted
DONE = ("complete", "infeasible", "pruned")  # what counts toward search.n_trials


@dataclass
class Status:
    """What ``paretonas status`` shows, read at ``now`` (local time, Optuna's clock)."""

    study: str
    where: str
    objectives: list[Objective]
    target: int | None
    now: datetime.datetime
    trials: pd.DataFrame  # ``search.table.trials_frame``
    candidates: pd.DataFrame  # the trials select could choose from (``attrs.candidates``)
    front: pd.DataFrame  # the candidates on the Pareto front (plain dominance), best first
    workers: pd.DataFrame  # worker, done, failed, running, last_seen_s, state
    rate: float | None  # finished trials per minute over ``window_s``
    window_s: float | None

    @property
    def counts(self) -> dict[str, int]:
        """Trials per outcome (``attrs.OUTCOMES``), and ``surplus``: trials that ended FAIL
        before sampling because the target was taken (``search.loop``), not failures."""
        found = _outcomes(self.trials).value_counts()
        return {outcome: int(found.get(outcome, 0)) for outcome in (*attrs.OUTCOMES, SURPLUS)}

    @property
    def done(self) -> int:
        counts = self.counts
        return sum(counts[outcome] for outcome in DONE)

    @property
    def eta_s(self) -> float | None:
        return eta_seconds(self.done, self.target, self.rate)

    @property
    def best_objective(self) -> Objective:
        """F1 when the study scores it, else its first objective."""
        return next((o for o in self.objectives if o.name == "f1"), self.objectives[0])

    @property
    def best(self) -> pd.Series | None:
        """The candidate best in ``best_objective`` (ties: the lower number), or None."""
        if self.candidates.empty:
            return None
        objective = self.best_objective
        column = self.candidates[f"values_{objective.name}"]
        index = column.idxmax() if objective.maximize else column.idxmin()
        return self.candidates.loc[index]

    @property
    def failures(self) -> pd.DataFrame:
        return self.trials[_outcomes(self.trials) == "fail"]


def _outcomes(trials: pd.DataFrame) -> pd.Series:
    """Each trial's outcome, a surplus trial's as ``surplus``."""
    surplus = (trials["outcome"] == "fail") & (trials["reason"] == SURPLUS)
    return trials["outcome"].mask(surplus, SURPLUS)


class StatusReader:
    """Opens a study once (a ``study.json`` or a snapshot ``study.db``) and reads its status
    as often as asked (``paretonas status --watch``). ``target``: ``search.n_trials``;
    ``workers``: ``search.workers`` (listed even before they start); ``grace_period``:
    ``search.grace_period`` (a running trial's worker silent for longer is likely dead)."""

    def __init__(
        self,
        location: str | os.PathLike,
        *,
        target: int | None = None,
        workers: int = 0,
        grace_period: float = 30,
    ) -> None:
        path = Path(location)
        self.record: StudyRecord | None = read_record(path) if path.suffix == ".json" else None
        self.where = (
            f"{self.record.storage.kind}: {self.record.storage.redacted}"
            if self.record is not None
            else f"sqlite: {path}"  # a snapshot (or any file holding one study)
        )
        self.target, self.expected, self.grace_period = target, workers, grace_period
        with self._storage_errors():
            self.study = open_study(path)
            self.objectives = objectives_of(self.study)

    @contextlib.contextmanager
    def _storage_errors(self) -> Iterator[None]:
        """A database that fails (a stopped server, a wrong password) is one StudyError line,
        the URL's password masked."""
        import sqlalchemy.exc

        try:
            yield
        except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError) as exc:
            cause = getattr(exc, "orig", None) or exc.__cause__ or exc
            reason = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
            raise StudyError(
                f"storage {self.where}: {type(cause).__name__}: {redact(reason)}"
            ) from None

    def read(self, now: datetime.datetime | None = None) -> Status:
        """The study's status now (``now``: the local time to measure ages and the rate at)."""
        now = now or datetime.datetime.now()
        with self._storage_errors():
            frame, trials = read_trials(self.study)
            beats = _heartbeat_ages(self.study)
        beats.update(self._lease_ages(trials))
        names = [o.name for o in self.objectives]
        chosen = {t.number for t in attrs.candidates(trials.values())}
        candidates = frame[frame["number"].isin(chosen)]
        done = int(frame["outcome"].isin(DONE).sum())
        finished = self.target is not None and done >= self.target
        rate, window = _rate(frame, now, finished)
        return Status(
            study=self.study.study_name,
            where=self.where,
            objectives=self.objectives,
            target=self.target,
            now=now,
            trials=frame,
            candidates=candidates,
            front=_front(candidates, self.objectives, names),
            workers=self._workers(frame, beats, now),
            rate=rate,
            window_s=window,
        )

    def _lease_ages(self, trials: dict[int, FrozenTrial]) -> dict[int, float]:
        """Journal storage: seconds since each running trial's worker renewed its lease."""
        ages = {}
        for number, trial in trials.items():
            until = trial.system_attrs.get(attrs.LEASE_UNTIL)
            if until is not None and trial.state == optuna.trial.TrialState.RUNNING:
                ages[number] = time.time() - (float(until) - self.grace_period)
        return ages

    def _reports(self) -> dict[int, tuple[float, dict[str, Any]]]:
        """Worker id -> (modification time, content) of the reports workers write on exit."""
        if self.record is None:
            return {}
        out = {}
        for path in (self.record.directory / "workers").glob("*.json"):
            if not path.stem.isdigit():
                continue
            try:
                out[int(path.stem)] = (path.stat().st_mtime, json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # being replaced right now: the next read has it
        return out

    def _workers(
        self, frame: pd.DataFrame, beats: dict[int, float], now: datetime.datetime
    ) -> pd.DataFrame:
        reports = self._reports()
        seen = {int(w) for w in frame["worker"].dropna()}
        rows = []
        for worker in sorted(set(range(self.expected)) | seen | set(reports)):
            mine = frame[frame["worker"].eq(worker).fillna(False).astype(bool)]
            running = [int(n) for n in mine.loc[mine["outcome"] == "running", "number"]]
            ages = [beats[n] for n in running if n in beats]
            for column in ("datetime_start", "datetime_complete"):
                latest = mine[column].max()
                if pd.notna(latest):
                    ages.append((now - latest).total_seconds())
            report = reports.get(worker)
            if report is not None:
                ages.append(time.time() - report[0])
            last = min(ages) if ages else None
            latest_start = mine["datetime_start"].max()
            ended = report is not None and (
                pd.isna(latest_start) or report[0] >= latest_start.to_pydatetime().timestamp()
            )
            if running:
                silent = last is not None and last > self.grace_period
                state = f"silent {duration(last)}: dead?" if silent else "running"
            elif ended:
                state = f"ended: {report[1].get('ended', '?')}"
            elif last is None:
                state = "not started"
            else:
                state = "between trials"
            rows.append(
                {
                    "worker": worker,
                    "done": int(mine["outcome"].isin(DONE).sum()),
                    "failed": int((_outcomes(mine) == "fail").sum()),
                    "running": running,
                    "last_seen_s": last,
                    "state": state,
                }
            )
        columns = ["worker", "done", "failed", "running", "last_seen_s", "state"]
        return pd.DataFrame(rows, columns=columns)


def _heartbeat_ages(study: optuna.Study) -> dict[int, float]:
    """Trial number -> seconds since its last Optuna heartbeat (RDB storages; {} otherwise),
    both times in the database's clock, as Optuna's own staleness check reads them."""
    import sqlalchemy

    storage = getattr(study._storage, "_backend", study._storage)  # under _CachedStorage
    if not isinstance(storage, optuna.storages.RDBStorage):
        return {}
    query = sqlalchemy.text(
        "SELECT t.number, h.heartbeat FROM trial_heartbeats h "
        "JOIN trials t ON t.trial_id = h.trial_id WHERE t.study_id = :study"
    ).columns(
        sqlalchemy.column("number", sqlalchemy.Integer),
        sqlalchemy.column("heartbeat", sqlalchemy.DateTime),
    )
    with storage.engine.connect() as connection:
        now = connection.execute(sqlalchemy.select(sqlalchemy.func.now())).scalar()
        rows = connection.execute(query, {"study": study._study_id}).all()
    now = now.replace(tzinfo=None)  # PostgreSQL's is aware; the stored heartbeats are not
    return {int(number): (now - beat).total_seconds() for number, beat in rows}


def _rate(
    frame: pd.DataFrame, now: datetime.datetime, finished: bool
) -> tuple[float | None, float | None]:
    """Finished trials per minute over the last ``WINDOW_S`` (or since the first trial
    started, if later); a finished search is measured up to its last completion."""
    done = frame[frame["outcome"].isin(DONE)]
    completed = done["datetime_complete"].dropna()
    if completed.empty or frame["datetime_start"].dropna().empty:
        return None, None
    end = completed.max() if finished else pd.Timestamp(now)
    since = max(end - pd.Timedelta(seconds=WINDOW_S), frame["datetime_start"].min())
    window = (end - since).total_seconds()
    count = int(((completed >= since) & (completed <= end)).sum())
    return per_minute(count, window), window


def _front(candidates: pd.DataFrame, objectives: list[Objective], names: list[str]) -> pd.DataFrame:
    """The candidates on the Pareto front (``paretonas.pareto``, plain dominance), sorted by
    the first objective, best first."""
    if candidates.empty:
        return candidates
    columns = [f"values_{name}" for name in names]
    points = pareto.losses(candidates[columns].to_numpy(dtype=float), objectives)
    layer = pareto.nondominated_layers(points)[0]
    front = candidates.iloc[sorted(layer)]
    first = objectives[0]
    return front.sort_values(
        [columns[0], "number"], ascending=[not first.maximize, True], kind="stable"
    )


def _value(objective: Objective, value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if objective.score:
        return f"{float(value):.4f}"
    if objective.deterministic:
        return f"{round(float(value)):,}"
    return f"{float(value):.3f}"


def render(status: Status) -> str:
    """The screen: a few lines of figures, then the front, the workers and the failures."""
    counts = status.counts
    done = f"{status.done}/{status.target}" if status.target is not None else str(status.done)
    lines = [
        f"paretonas status at {status.now:%Y-%m-%d %H:%M:%S}: study {status.study}",
        f"storage   {status.where}",
        f"trials    {done} done ({counts['complete']} complete, {counts['infeasible']} "
        f"infeasible, {counts['pruned']} pruned); {counts['running']} running, "
        f"{counts['waiting']} waiting, {counts['fail']} failed"
        + (f"; {counts[SURPLUS]} surplus (not failures)" if counts[SURPLUS] else ""),
    ]
    if status.target is not None and status.done >= status.target:
        lines.append("speed     " + _speed(status) + "; the search is done")
    elif status.rate is None:
        lines.append("speed     ? (no trial has finished yet); ETA ?")
    else:
        eta = status.eta_s
        at = status.now + datetime.timedelta(seconds=eta) if eta is not None else None
        when = f" (at {at:%H:%M})" if at is not None else ""
        lines.append(f"speed     {_speed(status)}; ETA {duration(eta)}{when}")
    objective, best = status.best_objective, status.best
    label = f"{'best ' + objective.name:<9}"
    if best is None:
        lines.append(f"{label} - (no complete feasible trial yet)")
    else:
        value = _value(objective, best[f"values_{objective.name}"])
        se = best.get("f1_se")
        error = f" ± {float(se):.4f}" if objective.name == "f1" and pd.notna(se) else ""
        lines.append(f"{label} {value}{error} (trial {int(best['number'])})")
    lines += ["", _front_title(status), text(_front_table(status), "(no candidates yet)")]
    lines += ["", "workers (last seen: the newest heartbeat, lease renewal, trial start or end)"]
    lines.append(text(_workers_table(status.workers), "(none yet)"))
    failures = status.failures
    lines += ["", f"failures  {len(failures)}"]
    if not failures.empty:
        shown = failures.tail(FAILURE_ROWS)
        table = pd.DataFrame(
            {
                "trial": shown["number"].astype(int),
                "worker": shown["worker"].astype("string").fillna("-"),
                "reason": shown["reason"].replace("", "(no reason recorded)"),
            }
        )
        more = len(failures) - len(shown)
        lines.append(text(table) + (f"\n... and {more} earlier" if more else ""))
    return "\n".join(lines)


def _speed(status: Status) -> str:
    if status.rate is None:
        return "?"
    return f"{status.rate:.2f} trials/min over {duration(status.window_s)}"


def _front_title(status: Status) -> str:
    latency = (
        "; latency_ms: the search's estimate"
        if any(o.name == "latency_ms" for o in status.objectives)
        else ""
    )
    return (
        f"Pareto front: {len(status.front)} of {len(status.candidates)} complete feasible "
        f"trials{latency}"
    )


def _front_table(status: Status) -> pd.DataFrame:
    shown = status.front.head(FRONT_ROWS)
    table = pd.DataFrame({"trial": shown["number"].astype(int)})
    for objective in status.objectives:
        table[objective.name] = [_value(objective, v) for v in shown[f"values_{objective.name}"]]
        if objective.name == "f1":
            table["f1_se"] = [_value(objective, v) for v in shown["f1_se"]]
    if len(status.front) > len(shown):
        more = {column: "" for column in table.columns}
        more["trial"] = f"+{len(status.front) - len(shown)}"
        table = pd.concat([table.astype(str), pd.DataFrame([more])], ignore_index=True)
    return table


def _workers_table(workers: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "worker": workers["worker"],
            "done": workers["done"],
            "failed": workers["failed"],
            "running": [", ".join(map(str, r)) or "-" for r in workers["running"]],
            "last seen": [
                "-" if pd.isna(s) else f"{duration(s)} ago" for s in workers["last_seen_s"]
            ],
            "state": workers["state"],
        }
    )


__all__ = ["Status", "StatusReader", "render"]
