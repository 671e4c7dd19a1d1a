"""`paretonas prepare-data`: read the configured source, write the splits and the manifest."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from paretonas.cli._common import add_config_arguments, config_from_args
from paretonas.data import prepare_data, summary_line

_logger = logging.getLogger(__name__)

NAME = "prepare-data"
HELP = "split the configured image source into full/ and search/ tensors plus manifest.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--config or --config-json (one of them), and --out."""
    add_config_arguments(parser)
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="output directory (default: <results_dir>/data from the config)",
    )


def run(args: argparse.Namespace) -> int:
    """Load and validate the config, write the splits, log a one-line summary; 0 on success."""
    config = config_from_args(args)
    out_dir = Path(args.out) if args.out else Path(config["results_dir"]) / "data"
    manifest = prepare_data(config, out_dir)
    _logger.info("prepare-data: %s", summary_line(manifest))
    normalization = manifest["normalization"]
    _logger.info(
        "prepare-data: wrote %s (normalization mean %s, std %s)",
        out_dir,
        [round(value, 4) for value in normalization["mean"]],
        [round(value, 4) for value in normalization["std"]],
    )
    return 0
