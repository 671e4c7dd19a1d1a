"""`paretonas select`: the Pareto front of the study and its K finalists."""

from __future__ import annotations

import argparse
from pathlib import Path

from paretonas.cli._common import add_config_argument, config_from_args
from paretonas.select import write_selection

NAME = "select"
HELP = "write the study's Pareto front (pareto.csv) and its K finalists (finalists.yaml)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser, required=False)
    parser.add_argument(
        "--study", metavar="FILE", required=True, help="the snapshot study.db, or a live study.json"
    )
    parser.add_argument(
        "--trials",
        metavar="DIR",
        help="the snapshot's trials/ (finalists' archives are named under it)",
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="output directory")
    parser.add_argument(
        "--latency",
        metavar="FILE",
        help="the profile step's latency.csv (default: the search's estimate)",
    )
    parser.add_argument("--k", type=int, help="finalists (default: select.k)")
    parser.add_argument(
        "--min-relative-score", type=float, help="default: select.min_relative_score"
    )


def run(args: argparse.Namespace) -> int:
    options = config_from_args(args)["select"]
    k = args.k if args.k is not None else options["k"]
    floor = args.min_relative_score
    out = Path(args.out)
    write_selection(
        args.study,
        k,
        out / "pareto.csv",
        out / "finalists.yaml",
        options["min_relative_score"] if floor is None else floor,
        args.trials,
        latency_csv=args.latency,
        min_f1=options["min_f1"],
        f1_noise=options["f1_noise"],
    )
    return 0
