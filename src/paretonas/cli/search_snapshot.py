"""`paretonas search-snapshot`: freeze the finished study and its archives for later stages."""

from __future__ import annotations

import argparse

from paretonas.search.snapshot import snapshot_study

NAME = "search-snapshot"
HELP = (
    "copy the study (to one SQLite file) and link its trial archives, for select onwards; "
    "optionally write trials.csv"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", metavar="FILE", required=True, help="the live study.json")
    parser.add_argument("--db", metavar="FILE", required=True, help="the snapshot study.db")
    parser.add_argument("--trials", metavar="DIR", required=True, help="the snapshot trials/")
    parser.add_argument(
        "--trials-csv", metavar="FILE", help="also write one row per trial here (trials.csv)"
    )


def run(args: argparse.Namespace) -> int:
    snapshot_study(args.study, args.db, args.trials, args.trials_csv)
    return 0
