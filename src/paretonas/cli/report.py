"""`paretonas report`: summary tables and figures of the search and its finalists."""

from __future__ import annotations

import argparse
import logging

from paretonas.cli._common import add_config_arguments, config_from_args

_logger = logging.getLogger(__name__)

NAME = "report"
HELP = "write summary.csv/.md and the Pareto, hypervolume, history and finalist figures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument(
        "--study-json",
        metavar="FILE",
        required=True,
        help="the search stage's study.json (names the study)",
    )
    parser.add_argument(
        "--finalists", metavar="FILE", required=True, help="the select stage's finalists.yaml"
    )
    parser.add_argument(
        "--metrics", metavar="FILE", nargs="*", default=[], help="each finalist's metrics.json"
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="report directory")
    parser.add_argument(
        "--plotlyjs",
        choices=("embed", "directory", "cdn"),
        default="embed",
        help="plotly.js in every page (embed, works offline), once beside them "
        "(directory), or from the internet (cdn); default embed",
    )


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")  # a headless process: never open a window
    from paretonas.reporting import open_study, write_report

    config = config_from_args(args)
    study = open_study(config, args.study_json)
    files = write_report(
        config, study, args.finalists, args.metrics, args.out, plotlyjs=args.plotlyjs
    )
    _logger.info("report: wrote %d files under %s", len(files), args.out)
    return 0
