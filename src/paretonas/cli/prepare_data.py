"""`paretonas prepare-data`: read the configured source, write the splits and the manifest."""

from __future__ import annotations

import argparse
from pathlib import Path

from paretonas.cli._common import add_config_argument, config_from_args
from paretonas.config_checks import check_results_dir_writable
from paretonas.data import prepare_data

NAME = "prepare-data"
HELP = "split the configured image source into full/ and search/ tensors plus manifest.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--out", metavar="DIR", help="output directory (default: <results_dir>/data)"
    )


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.out is None:  # it writes under results_dir, as the workflow does: the same check
        check_results_dir_writable(config["results_dir"], args.config or "<defaults>")
    prepare_data(config, Path(args.out) if args.out else Path(config["results_dir"]) / "data")
    return 0
