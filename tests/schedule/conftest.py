"""Every test here runs on SQLite and on PostgreSQL (the same contract, two backends)."""

from __future__ import annotations

import pytest

from storage import Storage


@pytest.fixture
async def store(database_target):
    async with Storage.open(database_target) as storage:
        yield storage
