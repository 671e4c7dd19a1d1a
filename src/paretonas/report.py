"""The report stage (``paretonas report``); the code lives in ``paretonas.reporting``."""

from __future__ import annotations

from paretonas.reporting import PLOTLYJS_MODES, ReportError, open_study, write_report

__all__ = ["PLOTLYJS_MODES", "ReportError", "open_study", "write_report"]
