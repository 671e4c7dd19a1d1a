"""`paretonas search-study`: name the study of this config and data; write its study.json."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from paretonas.cli._common import add_config_arguments, config_from_args
from paretonas.search.study_files import write_study_json
from paretonas.search.worker import open_study, study_handle

_logger = logging.getLogger(__name__)

NAME = "search-study"
HELP = "create (or find) the study of this config and data; write its study.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--data", metavar="DIR", required=True, help="prepared data directory")
    parser.add_argument("--out", metavar="FILE", required=True, help="where to write study.json")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    handle = study_handle(config, args.data)
    write_study_json(handle, config, Path(args.out))
    write_study_json(handle, config)  # also inside the study directory
    study = open_study(config, handle, worker_id=0)  # created once, before workers race
    _logger.info("study %s holds %d trials", handle.name, len(study.trials))
    _logger.info("study %s (storage %s)", handle.name, handle.storage.redacted)
    return 0
