"""Arguments several verbs share."""

from __future__ import annotations

import argparse

from paretonas.config import load_config


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` or ``--config-json TEXT`` (what Snakemake rules pass)."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", metavar="FILE", help="workflow config YAML")
    source.add_argument("--config-json", metavar="TEXT", help="workflow config as JSON/YAML text")


def config_from_args(args: argparse.Namespace) -> dict:
    return load_config(path=args.config, text=args.config_json)
