"""`paretonas profile`: time the front's candidates of a finished search on this machine."""

from __future__ import annotations

import argparse

from paretonas.cli._common import add_config_argument, config_from_args
from paretonas.errors import ConfigError
from paretonas.profile import profile_front
from paretonas.runtimes import RUNTIMES

NAME = "profile"
HELP = "time the Pareto front's candidates, interleaved, with this machine to themselves"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser, required=False)
    parser.add_argument("--study", metavar="FILE", required=True, help="the snapshot study.db")
    parser.add_argument("--trials", metavar="DIR", required=True, help="the snapshot's trials/")
    parser.add_argument(
        "--out", metavar="DIR", required=True, help="where latency.csv and profile.json go"
    )
    parser.add_argument("--max-models", type=int, help="default: profile.max_models")
    parser.add_argument("--rounds", type=int, help="default: profile.rounds")
    parser.add_argument(
        "--runtime", choices=RUNTIMES, help="the runtime to time in; default: profile.runtime"
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        help="the machine baseline (the host's fastest reference figure, kept across runs); "
        "default: OUT/machine_baseline.json",
    )


def run(args: argparse.Namespace) -> int:
    for flag, value, least in (("--max-models", args.max_models, 1), ("--rounds", args.rounds, 20)):
        if value is not None and value < least:  # the bounds profile.* has in the config
            raise ConfigError(f"{flag}: expected a whole number >= {least}, got {value}")
    options = config_from_args(args)["profile"]
    profile_front(
        args.study,
        args.trials,
        f"{args.out}/latency.csv",
        f"{args.out}/profile.json",
        max_models=args.max_models or options["max_models"],
        rounds=args.rounds or options["rounds"],
        runtime=args.runtime or options["runtime"],
        baseline=args.baseline or f"{args.out}/machine_baseline.json",
    )
    return 0
