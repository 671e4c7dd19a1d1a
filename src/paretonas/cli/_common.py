"""Arguments several verbs share."""

from __future__ import annotations

import argparse

from paretonas.config import load_config


def add_config_argument(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """``--config FILE``: the workflow config (validated, defaults filled in)."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        required=required,
        help="workflow config YAML (e.g. config/config.yaml)" + ("" if required else "; optional"),
    )


def config_from_args(args: argparse.Namespace) -> dict:
    """The validated config of ``--config``, or every default when it was not given."""
    from paretonas.config import default_config

    return load_config(path=args.config) if args.config else default_config()
