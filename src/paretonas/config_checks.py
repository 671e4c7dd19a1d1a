"""Checks of a workflow config that its JSON schema cannot express: relations between keys and
what ``results_dir`` may be. Each failure is one :class:`ConfigError` line naming the key(s)
and value(s), in the format of :func:`paretonas.config.validate_config`, which runs these
checks after the schema's.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from paretonas.errors import ConfigError

# What the workflow writes straight under results_dir (workflow/rules/*.smk).
RESULT_FOLDERS = "data/, search/, logs/, benchmarks/, select/, finalists/, report/"


def check_config(config: dict[str, Any], source: str) -> dict[str, Any]:
    """Refuse what the schema lets through but the workflow cannot run; return ``config``
    with ``results_dir`` normalized (``./results/`` -> ``results``: Snakemake warns about a
    leading ``./`` and a trailing slash doubles its paths' separators)."""
    config["results_dir"] = results_dir(config["results_dir"], source)
    _check_objectives(config["search"]["objectives"], source)
    _check_heartbeat(config["search"], source)
    return config


def results_dir(value: str, source: str) -> str:
    """``value`` normalized, or a ConfigError: an empty value, braces (Snakemake would read
    them as wildcards), or a folder that is the working directory or one above it (the
    filesystem root included): outputs would be written into it beside what is there."""
    where = f"{source}: results_dir: {value!r}"
    if not value.strip():
        raise ConfigError(f"{where} is empty; name a folder of its own, e.g. 'results'")
    if "{" in value or "}" in value:
        raise ConfigError(f"{where}: braces are Snakemake wildcards in paths; name a plain folder")
    normalized = os.path.normpath(value)
    folder = Path(os.path.realpath(normalized))  # a link to the project is the project
    here = Path(os.path.realpath(Path.cwd()))
    if folder == here or folder in here.parents:
        what = (
            "the filesystem root"
            if folder == folder.parent
            else "the working directory"
            if folder == here
            else f"{folder}, above the working directory"
        )
        raise ConfigError(
            f"{where} is {what}: the workflow would write {RESULT_FOLDERS} straight into it; "
            f"name a folder of its own, e.g. 'results'"
        )
    return normalized


def check_results_dir_writable(value: str, source: str) -> None:
    """Refuse a ``results_dir`` the workflow cannot write: a file, or a folder that neither
    exists writable nor can be made. A folder is made and removed at once in it (or in its
    nearest existing parent) to find out: permissions alone do not tell (root, /proc, a
    read-only mount). Only writers call this: ``paretonas status`` may read results on a
    read-only disk."""
    where = f"{source}: results_dir: {value!r}"
    folder = Path(os.path.abspath(value))
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is a file" if existing == folder else f"cannot be made: {existing} is a file"
        raise ConfigError(f"{where} {what}, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".write-check-", dir=existing))
    except OSError as exc:
        what = "is not writable" if existing == folder else "cannot be made"
        raise ConfigError(
            f"{where} {what}: no folder can be created in {existing} ({exc.strerror})"
        ) from None


def _check_objectives(objectives: list[dict[str, Any]], source: str) -> None:
    """Each objective once: a repeated one is a duplicate figure and a duplicate column, and
    Optuna would weigh it twice in the sampler and the hypervolume."""
    first: dict[str, int] = {}
    for index, objective in enumerate(objectives):
        name = objective["name"]
        if name in first:
            raise ConfigError(
                f"{source}: search.objectives.{index}.name: {name!r} is already "
                f"search.objectives.{first[name]}; list each objective once"
            )
        first[name] = index


def _check_heartbeat(search: dict[str, Any], source: str) -> None:
    """A worker's heartbeat must come more often than other workers' patience: with
    ``heartbeat_interval >= grace_period`` a live worker's trial looks dead between two
    beats, and another worker fails it and runs it again."""
    interval, grace = search["heartbeat_interval"], search["grace_period"]
    if interval >= grace:
        raise ConfigError(
            f"{source}: search.heartbeat_interval: {interval} is not below "
            f"search.grace_period ({grace}): other workers would fail a live worker's trial "
            f"between its heartbeats; keep heartbeat_interval well under grace_period "
            f"(defaults 10 and 30)"
        )
