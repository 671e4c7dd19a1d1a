"""paretonas: reproducible multi-objective search for small, fast image classifiers."""

from __future__ import annotations

from paretonas.errors import ConfigError, DataError, ModelConfigError, ParetonasError

__version__ = "0.1.0"

__all__ = ["ConfigError", "DataError", "ModelConfigError", "ParetonasError", "__version__"]
