"""Run a real discord.py client against a :class:`FakeDiscord` for the length of a block."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import discord

from tests.budget import PATIENCE

from .server import FakeDiscord

ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.asynccontextmanager
async def running(
    fake: FakeDiscord, client: ClientT, *, ready_timeout: float = PATIENCE
) -> AsyncIterator[ClientT]:
    """Start ``client`` against ``fake``, yield once it is ready, close it afterwards.

    If the client fails before becoming ready (bad token, disallowed intents...), its
    exception is raised here.
    """
    with fake.patch_discord():
        runner = asyncio.create_task(client.start(fake.token), name="fakediscord-client")
        ready = asyncio.create_task(client.wait_until_ready())
        try:
            done, _ = await asyncio.wait(
                {runner, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                if runner in done:
                    runner.result()  # raises the client's start-up error
                raise TimeoutError(f"client not ready within {ready_timeout}s")
            yield client
        finally:
            ready.cancel()
            await client.close()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
                await asyncio.wait_for(runner, timeout=5)
