"""Skip (locally) or fail (CI) a test whose server cannot be started here."""

from __future__ import annotations

import os

import pytest


def require(service: str, reason: str | None) -> None:
    """Nothing when ``reason`` is None; else skip saying why, or fail when
    PARETONAS_REQUIRE_SERVICES=1 (CI runs every test that needs a real server)."""
    if reason is None:
        return
    if os.environ.get("PARETONAS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{service} tests are required here but cannot run: {reason}")
    pytest.skip(f"{service} tests skipped: {reason}")
