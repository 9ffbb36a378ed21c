from __future__ import annotations

import pytest

from storage import Storage


@pytest.fixture
async def store(tmp_path):
    async with Storage.open(tmp_path / "lw.db") as storage:
        yield storage
