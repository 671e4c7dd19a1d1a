"""paretonas: reproducible multi-objective search for small, fast image classifiers."""

from __future__ import annotations

from paretonas.errors import ConfigError, ModelConfigError, ParetonasError

__version__ = "0.1.0"

__all__ = ["ConfigError", "ModelConfigError", "ParetonasError", "__version__"]
