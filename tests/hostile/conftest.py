"""Fixtures the hostile-input tests share with the search tests."""

from tests.search.conftest import digits_dir  # noqa: F401  (the session's prepared digits)
