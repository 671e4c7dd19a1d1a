"""`paretonas report`: summary tables and figures of the search and its finalists."""

from __future__ import annotations

import argparse

from paretonas.reporting import PLOTLYJS_MODES, write_report

NAME = "report"
HELP = "write summary.csv/.md and the Pareto, hypervolume, history and finalist figures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--study", metavar="FILE", required=True, help="the snapshot study.db, or a live study.json"
    )
    parser.add_argument(
        "--finalists", metavar="FILE", required=True, help="the select stage's finalists.yaml"
    )
    parser.add_argument(
        "--metrics", metavar="FILE", nargs="*", default=[], help="each finalist's metrics.json"
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="report directory")
    parser.add_argument("--latency", metavar="FILE", help="the profile step's latency.csv")
    parser.add_argument("--profile", metavar="FILE", help="the profile step's profile.json")
    parser.add_argument(
        "--deployment", metavar="FILE", help="the profile_finalists step's finalists.csv"
    )
    parser.add_argument(
        "--plotlyjs",
        choices=PLOTLYJS_MODES,
        default="embed",
        help="plotly.js in every page (embed, works offline), once beside them (directory), "
        "or from the internet (cdn); default embed",
    )


def run(args: argparse.Namespace) -> int:
    write_report(
        args.study,
        args.finalists,
        args.metrics,
        args.out,
        plotlyjs=args.plotlyjs,
        latency_csv=args.latency,
        profile_json=args.profile,
        deployment_csv=args.deployment,
    )
    return 0
