"""`paretonas finalize`: retrain a finalist (or any archived trial) on the full data, test it."""

from __future__ import annotations

import argparse

from paretonas.cli._common import add_config_argument, config_from_args
from paretonas.errors import ConfigError
from paretonas.finalize import finalize, finalize_rank

NAME = "finalize"
HELP = "retrain a trial from its archived model.yaml/hparams.yaml on full data; test; export"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser, required=False)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--rank", type=int, help="finalist rank in --finalists")
    which.add_argument("--trial", metavar="DIR", help="any archived trial directory")
    parser.add_argument("--finalists", help="results/select/finalists.yaml (with --rank)")
    parser.add_argument("--data", required=True, help="prepared data directory")
    parser.add_argument("--out", required=True, help="output directory")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=int, help="override finalize.epochs")
    budget.add_argument("--steps", type=int, help="override finalize.steps")


def run(args: argparse.Namespace) -> int:
    for flag, value in (("--epochs", args.epochs), ("--steps", args.steps)):
        if value is not None and value < 1:  # 0 would read as "not given": the config's budget
            raise ConfigError(f"{flag}: expected a whole number >= 1, got {value}")
    config = config_from_args(args)
    options = {
        "epochs": args.epochs or config["finalize"]["epochs"],
        "steps": None if args.epochs else (args.steps or config["finalize"]["steps"]),
        "device": config["finalize"]["device"],
        "export": config["finalize"]["export"],
        "quantize": config["finalize"]["quantize"],
    }
    if args.rank is not None:
        if not args.finalists:
            raise SystemExit("paretonas finalize: --rank needs --finalists")
        finalize_rank(args.finalists, args.rank, args.data, args.out, **options)
    else:
        finalize(args.trial, args.data, args.out, **options)
    return 0
