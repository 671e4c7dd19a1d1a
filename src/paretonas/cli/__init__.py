"""`paretonas <verb>`: one verb per workflow step, each also run by hand.

Every verb lives in its own module exposing ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``. A ParetonasError prints as one line and exits 2; ``--debug``
shows the traceback instead. Ctrl-C (SIGINT) and SIGTERM unwind the verb like an error, so
every temporary file and staging folder is removed on the way out, then print one line and
exit 130 or 143 (128 + the signal, as a shell reports it). Verbs that must finish a unit of
work first (a search worker ends its trial FAIL and re-queues it) install their own handler.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from paretonas import __version__
from paretonas.cli import (
    dashboard,
    finalize,
    init,
    model_info,
    prepare_data,
    profile,
    report,
    search_snapshot,
    search_study,
    search_worker,
    select,
    status,
)
from paretonas.errors import ParetonasError, interrupt_status, raise_terminated

VERBS = (
    init,
    model_info,
    prepare_data,
    search_study,
    search_worker,
    search_snapshot,
    status,
    profile,
    select,
    finalize,
    report,
    dashboard,
)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paretonas",
        description="Multi-objective search for small, fast image classifiers.",
    )
    parser.add_argument("--version", action="version", version=f"paretonas {__version__}")
    commands = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb in VERBS:
        sub = commands.add_parser(verb.NAME, help=verb.HELP, description=verb.HELP)
        sub.add_argument("--debug", action="store_true", help="show tracebacks on errors")
        sub.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
        verb.add_arguments(sub)
        sub.set_defaults(run=verb.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        return args.run(args)
    except ParetonasError as exc:
        if args.debug:
            raise
        print(f"paretonas {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        if args.debug:
            raise
        signame, code = interrupt_status(exc)
        print(
            f"paretonas {args.verb}: interrupted ({signame}); nothing half-written was left",
            file=sys.stderr,
        )
        return code
    finally:
        signal.signal(signal.SIGTERM, previous)
