"""Progress: rates, ETAs and durations, and the line a worker logs after every trial."""

from __future__ import annotations

import re
import time

import pytest

from paretonas.search.progress import (
    duration,
    eta_seconds,
    parse_duration,
    per_minute,
    progress_line,
)
from tests.search.conftest import fast_space, load, run_search, search_config

DURATIONS = [  # seconds, text
    (0, "0s"),
    (44.6, "45s"),
    (60, "1m00s"),
    (485, "8m05s"),
    (3599.4, "59m59s"),
    (3600, "1h00m"),
    (7380, "2h03m"),
    (86400 + 4 * 3600, "1d04h"),
]


@pytest.mark.parametrize(("seconds", "expected"), DURATIONS)
def test_duration(seconds, expected):
    assert duration(seconds) == expected
    if seconds < 3600:  # below an hour nothing is rounded away
        assert parse_duration(expected) == round(seconds)


def test_unknowns_and_bad_input():
    assert duration(None) == "?" and duration(float("inf")) == "?"
    assert per_minute(3, 0.0) is None and per_minute(3, 0.5) == pytest.approx(360.0)
    assert per_minute(3, 90) == pytest.approx(2.0)
    assert eta_seconds(5, None, 2.0) is None
    assert eta_seconds(5, 10, None) is None and eta_seconds(5, 10, 0.0) is None
    assert eta_seconds(12, 10, None) == 0.0  # done (workers may overshoot the target)
    assert eta_seconds(4, 10, 3.0) == pytest.approx(120.0)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("5x")
    assert progress_line(4, 10, 3.0) == "4/10 trials done, 3.00 trials/min, ETA 2m00s"
    assert progress_line(0, 10, None) == "0/10 trials done, ? trials/min, ETA ?"


PROGRESS = re.compile(r"progress: (\d+)/(\d+) trials done, ([\d.]+|\?) trials/min, ETA (\S+)$")


def test_a_worker_logs_progress_after_every_trial(tmp_path, digits_dir, caplog):
    config = search_config(tmp_path, fast_space(tmp_path, epochs=1), n_trials=4)
    before = time.time()
    with caplog.at_level("INFO", logger="paretonas.search.worker"):
        report = run_search(config, digits_dir)
    records = [r for r in caplog.records if r.name == "paretonas.search.worker"]
    lines = [PROGRESS.search(r.getMessage()) for r in records]
    progress = [m for m in lines if m]
    trial_lines = [r for r in records if r.getMessage().startswith("trial ")]
    assert len(progress) == len(trial_lines) == len(report["trials"]) >= 4
    study = load(config)
    finished = sorted(
        t.datetime_complete for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")
    )
    done = [int(m[1]) for m in progress]
    assert done == list(range(1, len(finished) + 1))  # one worker: one more each time
    assert {int(m[2]) for m in progress} == {4}
    stamps = [r.created for r in records if PROGRESS.search(r.getMessage())]
    assert progress[-1][4] == "0s"  # done
    first = study.trials[0].datetime_start.timestamp()
    for match, stamp in zip(progress, stamps, strict=True):
        rate, count = float(match[3]), int(match[1])
        # the worker's clock starts after this test did and before its first trial: the rate
        # (shown to 2 decimals) lies between the two rates those starts give
        slowest, fastest = count * 60 / (stamp - before), count * 60 / (stamp - first - 0.05)
        assert slowest - 0.005 <= rate <= fastest + 0.005
        eta, left = parse_duration(match[4]), (4 - count) * 60
        assert left / (rate + 0.005) - 0.5 <= eta <= left / max(rate - 0.005, 1e-9) + 0.5
