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


# Exit statuses when the study is not done: a re-run continues where this worker stopped.
EXIT_TERMINATED = 143  # SIGTERM (128 + 15), as a shell reports it
EXIT_WALLTIME = 75  # EX_TEMPFAIL: out of walltime budget, try again


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    report = run_worker(config, args.worker_id, args.data)
    study_dir = Path(config["results_dir"]) / "search" / report["study"]
    write_worker_report(study_dir / "workers" / f"{args.worker_id}.json", report)
    if report["ended"] != "target reached":
        _logger.warning("worker %d stopped before the study was done (%s); re-run to continue",
                        args.worker_id, report["ended"])  # fmt: skip
        return EXIT_TERMINATED if report["ended"] == "terminated" else EXIT_WALLTIME
    if args.report:
        write_worker_report(args.report, report)
    _logger.info("worker %d done: %s in %.1fs", args.worker_id, report["states"],
                 report["wall_seconds"])  # fmt: skip
    return 0
