"""`paretonas dashboard`: optuna-dashboard on the study, live while the search runs."""

from __future__ import annotations

import argparse

from paretonas.cli._common import config_from_args
from paretonas.dashboard import DEFAULT_HOST, DEFAULT_PORT, make_dashboard, study_json_of

NAME = "dashboard"
HELP = "serve optuna-dashboard on the study (live while the search runs); Ctrl-C stops it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--study",
        metavar="FILE",
        help="the live study.json, or a snapshot study.db "
        "(default: results_dir/search/study.json of the config)",
    )
    where.add_argument(
        "--config",
        "--configfile",
        dest="config",
        metavar="FILE",
        help="workflow config YAML whose results_dir holds the study (default: every default)",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only; "
        "0.0.0.0 shows the study, without a login, to the whole network)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )


def run(args: argparse.Namespace) -> int:
    study = args.study or study_json_of(config_from_args(args)["results_dir"])
    dashboard = make_dashboard(study, host=args.host, port=args.port)
    print(
        f"study {dashboard.study_name} ({dashboard.n_trials} trials) in {dashboard.storage_shown}",
        flush=True,
    )
    print(f"dashboard: {dashboard.url}  (Ctrl-C stops it)", flush=True)
    dashboard.serve()
    return 0
