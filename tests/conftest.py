"""Suite-wide settings: the time limit of the long checks."""

from __future__ import annotations

import pytest

SLOW_TEST_TIMEOUT = 1200  # seconds; the default for every other test is in pyproject.toml


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` get a longer time limit unless they set their own."""
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TEST_TIMEOUT))
