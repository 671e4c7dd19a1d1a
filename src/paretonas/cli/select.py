"""`paretonas select`: the Pareto front of the study and its K finalists."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import optuna

from paretonas.cli._common import add_config_arguments, config_from_args
from paretonas.search.identity import objectives
from paretonas.search.storage import open_storage, resolve_storage
from paretonas.select import select

_logger = logging.getLogger(__name__)

NAME = "select"
HELP = "write the study's Pareto front (pareto.csv) and its K finalists (finalists.yaml)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--study-json", required=True, help="results/search/study.json")
    parser.add_argument("--out", required=True, help="output directory (results/select)")


def open_recorded_study(config: dict, study_json: str | Path) -> optuna.Study:
    """The study named in ``study.json``, on the storage the config resolves to."""
    record = json.loads(Path(study_json).read_text())
    directory = Path(config["results_dir"]) / "search" / record["name"]
    info = resolve_storage(config["search"]["storage"], directory, config["search"]["storage_env"])
    return optuna.load_study(study_name=record["name"], storage=open_storage(info))


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    study = open_recorded_study(config, args.study_json)
    options = config["select"]
    select(study, objectives(config), options["k"], args.out, options["min_relative_score"])
    return 0
