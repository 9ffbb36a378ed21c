"""A cancelled writer must not leave the shared connection inside a transaction."""

from __future__ import annotations

import asyncio

import pytest


async def test_a_writer_cancelled_while_beginning_leaves_no_transaction_open(store):
    async def write() -> None:
        async with store.db.transaction() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('lost', '1')")

    task = asyncio.create_task(write())
    await asyncio.sleep(0)  # the task has handed BEGIN to the connection and waits for it
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await store.set_meta("next", "2")  # the next writer can begin and commit
    assert await store.get_meta("next") == "2"
    assert await store.get_meta("lost") is None
