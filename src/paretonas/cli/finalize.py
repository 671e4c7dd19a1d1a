"""`paretonas finalize`: retrain a finalist (or any archived trial) on the full data, test it."""

from __future__ import annotations

import argparse
import logging

import torch

from paretonas.cli._common import add_config_arguments, config_from_args
from paretonas.finalize import finalist_trial, finalize

_logger = logging.getLogger(__name__)

NAME = "finalize"
HELP = "retrain a trial from its archived model.yaml/hparams.yaml on full data; test; export"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--rank", type=int, help="finalist rank in --finalists")
    which.add_argument("--trial", metavar="DIR", help="any archived trial directory")
    parser.add_argument("--finalists", help="results/select/finalists.yaml (with --rank)")
    parser.add_argument("--data", required=True, help="prepared data directory")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--epochs", type=int, help="override finalize.epochs")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    torch.set_num_threads(1)  # like search workers: parallel jobs, one thread each
    selection = None
    trial_dir = args.trial
    if args.rank is not None:
        if not args.finalists:
            raise SystemExit("paretonas finalize: --rank needs --finalists")
        selection = finalist_trial(args.finalists, args.rank)
        trial_dir = selection["archive"]
    options = config["finalize"]
    finalize(trial_dir, args.data, args.out, epochs=args.epochs or options["epochs"],
             device=options["device"], export=options["export"],
             latency_runs=config["search"]["latency_runs"], selection=selection)  # fmt: skip
    return 0
