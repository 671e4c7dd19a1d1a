"""`paretonas status`: one screen on a running or finished search; ``--watch`` redraws it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from paretonas.config import load_config
from paretonas.errors import ConfigError

NAME = "status"
HELP = (
    "one screen on a running or finished search: trials against the target, speed and ETA, "
    "best F1, the Pareto front, workers' last heartbeat, failures"
)
CLEAR = "\x1b[H\x1b[2J"  # cursor home, clear screen (only on a terminal)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "--configfile",
        dest="config",
        metavar="FILE",
        default="config/config.yaml",
        help="workflow config: the target (search.n_trials), workers and where results go "
        "(default: config/config.yaml)",
    )
    parser.add_argument(
        "--study",
        metavar="FILE",
        help="the live study.json (default: <results_dir>/search/study.json), or a snapshot "
        "study.db",
    )
    parser.add_argument(
        "--watch",
        nargs="?",
        type=float,
        const=10.0,
        metavar="SECONDS",
        help="re-read and redraw every SECONDS (default 10) until Ctrl-C",
    )


def run(args: argparse.Namespace) -> int:
    from paretonas.search.status import StatusReader, render  # pandas and Optuna: only here

    config = load_config(args.config)
    study = Path(args.study or Path(config["results_dir"]) / "search" / "study.json")
    if args.watch is not None and not args.watch > 0:
        raise ConfigError(f"--watch: expected a number of seconds > 0, got {args.watch:g}")
    search = config["search"]
    try:
        reader = StatusReader(
            study,
            target=search["n_trials"],
            workers=search["workers"],
            grace_period=search["grace_period"],
        )
        if args.watch is None:
            print(render(reader.read()) + time_lines(config))
            return 0
        terminal = sys.stdout.isatty()
        while True:
            screen = render(reader.read()) + time_lines(config)
            # on a terminal the screen is redrawn in place; in a pipe or a log, one after another
            print((CLEAR if terminal else "") + screen + ("" if terminal else "\n"), flush=True)
            time.sleep(args.watch)
    except KeyboardInterrupt:  # Ctrl-C: the way out of --watch, not an error
        return 0


def time_lines(config: dict) -> str:
    """The workflow's time so far against init's prediction (the config's ``estimate``), from
    the jobs' benchmark files; nothing before the first job has finished."""
    from paretonas import timing

    compared = timing.compare(
        config.get("estimate"), Path(config["results_dir"]) / "benchmarks", now=time.time()
    )
    if compared["actual_seconds"] is None:
        return ""
    return f"\n\ntime      {timing.describe(compared)}"
