"""An in-repo fake Discord (REST + gateway) for testing the real discord.py client.

Typical use::

    async with FakeDiscord() as fake:
        guild = fake.add_guild("Launch Fans", channels=["alerts"])
        async with running(fake, MyBot(...)) as bot:
            ...
            assert fake.messages(guild.channel("alerts").id)[0].content == "..."

See :mod:`tests.fakediscord.server` for what the fake checks and what it leaves out.
"""

from .client import running
from .errors import DiscordError
from .gateway import GatewayFrame, GatewaySession
from .interactions import CallbackAttempt, FakeInteraction, FinalResponse, InteractionResult
from .models import (
    ChannelType,
    FakeChannel,
    FakeEdit,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    MessageFlag,
    Permission,
)
from .ratelimit import DEFAULT_LIMIT, DEFAULT_ROUTE_LIMITS
from .server import CommandSync, FakeDiscord, RequestRecord, UploadedFile

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_ROUTE_LIMITS",
    "CallbackAttempt",
    "ChannelType",
    "CommandSync",
    "DiscordError",
    "FakeChannel",
    "FakeDiscord",
    "FakeEdit",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "FinalResponse",
    "GatewayFrame",
    "GatewaySession",
    "InteractionResult",
    "MessageFlag",
    "Permission",
    "RequestRecord",
    "UploadedFile",
    "running",
]
