"""Snakemake reads config files with paretonas's config reader, nothing else.

Snakemake loads ``--configfile`` files in its command line, before any Snakefile code runs,
through YTE: a file holding ``__use_yte__: true`` has its ``?expressions`` evaluated as Python,
and duplicate keys, Python tags and alias bombs pass its loader. The ``paretonas-guard.pth``
line the package install puts in site-packages calls :func:`install` at interpreter start;
when Snakemake later imports ``snakemake.common.configfile``, its ``load_configfile`` is
replaced by one that calls :func:`paretonas.config.read_config_file` (the strict reader the
CLI uses) and turns its error into Snakemake's ``WorkflowError``: one line, nothing run.

A module of its own, outside the ``paretonas`` package: at interpreter start it imports only
importlib's machinery (every Python process of the environment runs it), and it never imports
Snakemake; it acts once Snakemake imports its loader.
"""

from __future__ import annotations

import sys
from importlib.machinery import PathFinder

TARGET = "snakemake.common.configfile"


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once), so it sees Snakemake's import."""
    if not any(isinstance(finder, _ConfigLoaderFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ConfigLoaderFinder())


class _ConfigLoaderFinder:
    """Finds ``snakemake.common.configfile`` as usual, wrapping its loader; nothing else."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> object:
        if name != TARGET:
            return None
        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader)
        return spec


class _PatchingLoader:
    """Runs the module as its own loader would, then replaces its ``load_configfile``."""

    def __init__(self, loader: object) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> object:  # get_source, get_filename: for tracebacks
        return getattr(self._loader, name)

    def create_module(self, spec: object) -> object:
        return self._loader.create_module(spec)

    def exec_module(self, module: object) -> None:
        self._loader.exec_module(module)
        patch(module)


def patch(module: object) -> None:
    """Replace ``module.load_configfile``: Snakemake's command line (``--configfile``) and its
    ``configfile:`` directive both call it (the first imports it by name, after this ran)."""
    workflow_error = module.WorkflowError

    def load_configfile(configpath: object) -> dict[str, object]:
        before = set(sys.modules)
        try:
            from paretonas.config import read_config_file
            from paretonas.errors import ConfigError

            try:
                return read_config_file(configpath)
            except ConfigError as exc:
                raise workflow_error(str(exc)) from None
        finally:
            _forget_package(before)

    module.load_configfile = load_configfile


def _forget_package(before: set[str]) -> None:
    """Drop the ``paretonas`` modules this import brought in: the workflow's ``common.smk``
    then imports the package from its own checkout's ``src/`` (it puts that first on
    ``sys.path``), not from wherever this environment installed it."""
    for name in [n for n in sys.modules if n not in before]:
        if name == "paretonas" or name.startswith("paretonas."):
            del sys.modules[name]
