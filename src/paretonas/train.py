"""The training loop and evaluation: ``from paretonas.train import fit, evaluate, HParams``.

The code lives in the ``paretonas.training`` package; this module is its public door and
re-exports exactly that package's ``__all__``.
"""

from __future__ import annotations

from paretonas.training import *  # noqa: F403 - the public door re-exports the package
from paretonas.training import __all__  # noqa: F401
