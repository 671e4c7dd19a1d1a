"""`paretonas search-worker`: run trials on the shared study until it holds n_trials."""

from __future__ import annotations

import argparse
import os
import sys

from paretonas.cli._common import add_config_argument, config_from_args
from paretonas.search.worker import WorkerOptions, run_search_worker

NAME = "search-worker"
HELP = "run search trials on the shared Optuna study until it holds search.n_trials finished"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--study", metavar="FILE", required=True, help="the study.json that search-study wrote"
    )
    parser.add_argument("--data", metavar="DIR", required=True, help="prepared data directory")
    parser.add_argument("--worker-id", type=int, required=True, help="0-based worker index")
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="where to write this worker's JSON report once the study is done",
    )


def command(
    config: str | os.PathLike, study: str | os.PathLike, data: str | os.PathLike, worker_id: int
) -> list[str]:
    """The command line that runs one worker by hand (tests and benchmarks start workers so)."""
    return [
        sys.executable,
        "-m",
        "paretonas",
        NAME,
        "--config",
        str(config),
        "--study",
        str(study),
        "--data",
        str(data),
        "--worker-id",
        str(worker_id),
    ]


def run(args: argparse.Namespace) -> int:
    options = WorkerOptions.from_config(config_from_args(args))
    return run_search_worker(args.study, args.data, args.worker_id, options, args.report)
