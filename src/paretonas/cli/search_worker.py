"""`paretonas search-worker`: run trials on the shared study until it holds n_trials."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from paretonas.cli._common import add_config_arguments, config_from_args
from paretonas.search.study_files import write_worker_report
from paretonas.search.worker import run_worker

_logger = logging.getLogger(__name__)

NAME = "search-worker"
HELP = "run search trials on the shared Optuna study until it holds search.n_trials finished"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--worker-id", type=int, required=True, help="0-based worker index")
    parser.add_argument("--data", metavar="DIR", required=True, help="prepared data directory")
    parser.add_argument("--report", metavar="FILE", help="where to write this worker's JSON report")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    report = run_worker(config, args.worker_id, args.data)
    study_dir = Path(config["results_dir"]) / "search" / report["study"]
    write_worker_report(study_dir / "workers" / f"{args.worker_id}.json", report)
    if args.report:
        write_worker_report(args.report, report)
    _logger.info("worker %d done: %s in %.1fs", args.worker_id, report["states"],
                 report["wall_seconds"])  # fmt: skip
    return 0
