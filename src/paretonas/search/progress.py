"""How far a search is and when it ends: trials per minute, the ETA, durations for people.

The workers' progress lines and ``paretonas status`` say it the same way.
"""

from __future__ import annotations

import math


def per_minute(count: int, seconds: float) -> float | None:
    """``count`` events in ``seconds`` as a rate per minute; None for no time at all."""
    if seconds <= 0:
        return None
    return count * 60.0 / seconds


def eta_seconds(done: int, target: int | None, rate: float | None) -> float | None:
    """Seconds until ``target`` at ``rate`` trials a minute: 0 when done, None when unknown."""
    if target is None:
        return None
    if done >= target:
        return 0.0
    if not rate:
        return None
    return (target - done) * 60.0 / rate


def duration(seconds: float | None) -> str:
    """``45s``, ``8m05s``, ``2h03m``, ``3d04h``; ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def parse_duration(text: str) -> float:
    """The seconds ``duration`` wrote (``8m05s`` -> 485); for tests and log readers."""
    total, number = 0, ""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    for char in text:
        if char.isdigit():
            number += char
        elif char in units and number:
            total, number = total + int(number) * units[char], ""
        else:
            raise ValueError(f"not a duration: {text!r}")
    if number:
        raise ValueError(f"not a duration: {text!r}")
    return float(total)


def progress_line(done: int, target: int, rate: float | None) -> str:
    """``12/40 trials done, 3.20 trials/min, ETA 8m45s``: one worker log line."""
    shown = "?" if rate is None else f"{rate:.2f}"
    return (
        f"{done}/{target} trials done, {shown} trials/min, "
        f"ETA {duration(eta_seconds(done, target, rate))}"
    )


__all__ = ["duration", "eta_seconds", "parse_duration", "per_minute", "progress_line"]
