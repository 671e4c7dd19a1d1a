"""`paretonas search-study`: name and create the study of this config and data."""

from __future__ import annotations

import argparse
import os

from paretonas.cli._common import add_config_argument, config_from_args
from paretonas.search.study import StudyRecord
from paretonas.search.worker import start_study

NAME = "search-study"
HELP = "create (or find) the study of this config and data; write its study.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--data", metavar="DIR", required=True, help="prepared data directory")
    parser.add_argument(
        "--out",
        metavar="FILE",
        required=True,
        help="where to write study.json (the live study goes beside it)",
    )


def start_from_config(
    config: dict, study_json: str | os.PathLike, data_dir: str | os.PathLike
) -> StudyRecord:
    """``start_study`` with the keys of a validated workflow config (what the rule passes)."""
    search = config["search"]
    return start_study(
        study_json,
        search["space"],
        data_dir,
        objectives=search["objectives"],
        constraints=search["constraints"],
        seed=config["seed"],
        storage=search["storage"],
        storage_env=search["storage_env"],
    )


def run(args: argparse.Namespace) -> int:
    start_from_config(config_from_args(args), args.out, args.data)
    return 0
