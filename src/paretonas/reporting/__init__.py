"""The report stage: summary tables and figures of a finished search and its finalists.

``write_report`` is the one door.
"""

from __future__ import annotations

from paretonas.reporting._figures import PLOTLYJS_MODES
from paretonas.reporting._inputs import ReportError
from paretonas.reporting._report import write_report

__all__ = ["PLOTLYJS_MODES", "ReportError", "write_report"]
