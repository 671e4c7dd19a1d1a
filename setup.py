"""The package install also writes ``paretonas-guard.pth`` into site-packages.

Its one line runs at interpreter start and makes Snakemake read config files with paretonas's
strict reader, so nothing in a config file runs (``src/paretonas_guard.py`` says
how). The project's metadata is all in pyproject.toml; this file only adds that line.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PTH_NAME = "paretonas-guard.pth"
PTH_LINE = "import paretonas_guard; paretonas_guard.install()\n"


class BuildPyWithGuard(build_py):
    """build_py, plus the .pth at the root of what becomes site-packages."""

    def run(self) -> None:
        super().run()
        # A wheel's root is build_lib; an editable wheel (pip install -e) is assembled in the
        # install command's install_lib instead, and ignores build_lib.
        root = self.get_finalized_command("install").install_lib if self.editable_mode else None
        target = Path(root or self.build_lib, PTH_NAME)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(PTH_LINE, encoding="utf-8")


setup(cmdclass={"build_py": BuildPyWithGuard})
