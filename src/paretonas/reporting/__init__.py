"""The report stage: summary tables and figures of a finished search and its finalists.

``write_report`` is the one door; ``open_study`` loads the study a ``study.json`` names.
"""

from __future__ import annotations

from paretonas.reporting._figures import PLOTLYJS_MODES
from paretonas.reporting._inputs import ReportError, open_study
from paretonas.reporting._report import write_report

__all__ = ["PLOTLYJS_MODES", "ReportError", "open_study", "write_report"]
