"""The Discord publisher: carries out outbox jobs with discord.py's REST client.

POST sends the alert embed with the job's deterministic nonce and ``enforce_nonce`` (discord.py
sets it whenever a nonce is given), so a send repeated after a crash returns the first message
instead of posting twice. EDIT re-renders the embed into the message already posted. FOLLOWUP
posts one short line that replies to the alert.

Nothing is read from the gateway cache that a send depends on: channels are addressed as
partial messageables, so no privileged intent or member cache is needed. The cache is only
consulted to explain *which* permission is missing when Discord says 403.

Outcomes (never exceptions) tell the worker what to do next:

=====================================  ===========================================
Discord answer                         outcome
=====================================  ===========================================
2xx                                    SENT
404 Unknown Channel / 403 no access    GONE (the subscription is marked broken)
404 Unknown Message on an edit         REJECTED (the alert was deleted by a person)
401                                    POSTPONED (the token is broken; logged)
429 beyond discord.py's own wait       POSTPONED for as long as Discord asks
our own brake on rejected requests     POSTPONED until the brake lifts
5xx                                    RETRY with backoff
network errors, timeouts               RETRY with backoff
400 and other 4xx                      REJECTED with Discord's error text
=====================================  ===========================================
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import aiohttp
import discord
import yarl

from bot.embeds import (
    notice_content,
    post_content,
    reminder_content,
    render_event_embed,
    truncate,
)
from bot.ratelimit import RequestPacer
from handlers.domain import DeliveryJob, DeliveryKind
from handlers.errors import error_text
from handlers.ports import PublishOutcome, PublishResult
from handlers.schedule.linking import schedule_link

log = logging.getLogger(__name__)

DISCORD_WEB = "https://discord.com"
THREAD_NAME_MAX = 100
#: A launch's thread archives after a quiet week (reminders come up to days apart).
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080
REQUEST_TIMEOUT = 30.0
TOKEN_RETRY_AFTER = 300.0

# Discord JSON error codes this module acts on.
THREAD_ARCHIVED = 50083
THREAD_ALREADY_CREATED = 160004
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MESSAGE = 10008
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013

#: What the bot needs in a channel to post alerts: (Permissions attribute, label).
CHANNEL_NEEDS = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
)
THREAD_NEEDS = (
    ("view_channel", "View Channel"),
    ("send_messages_in_threads", "Send Messages in Threads"),
    ("embed_links", "Embed Links"),
)


def missing_permissions(perms: discord.Permissions, *, thread: bool) -> list[str]:
    """Labels of the permissions the bot lacks to post alerts with these ``perms``."""
    needs = THREAD_NEEDS if thread else CHANNEL_NEEDS
    return [label for attr, label in needs if not getattr(perms, attr)]


def jump_base(api_base: str) -> str:
    """Origin for message links: the API's own host when it is Discord's, else discord.com.

    A proxy or a test server in ``DISCORD_API_BASE`` does not serve the web app, so links
    point at discord.com unless the API is a Discord host (canary, ptb).
    """
    try:
        url = yarl.URL(api_base)
    except ValueError:
        return DISCORD_WEB
    host = (url.host or "").lower()
    if url.scheme == "https" and (host == "discord.com" or host.endswith(".discord.com")):
        return f"https://{host}"
    return DISCORD_WEB


def message_link(base: str, guild_id: int, channel_id: int, message_id: int) -> str:
    """``https://discord.com/channels/{guild}/{channel}/{message}``."""
    return f"{base}/channels/{guild_id}/{channel_id}/{message_id}"


def alert_mentions(role_id: int | None) -> discord.AllowedMentions:
    """Pings nobody except the subscription's own role, whatever the text says."""
    return discord.AllowedMentions(
        everyone=False,
        users=False,
        roles=[discord.Object(role_id)] if role_id else False,
        replied_user=False,
    )


async def paced_call(
    pacer: RequestPacer,
    budget: float,
    request: Callable[[], Awaitable[int | None]],
    on_http_error: Callable[[discord.HTTPException], PublishResult],
) -> PublishResult:
    """One request to Discord within the pacer and ``budget`` seconds: its outcome, never
    an exception. ``request`` answers the id of what it made (a message, an event)."""
    paused = pacer.blocked_for()
    if paused:
        return PublishResult(
            PublishOutcome.POSTPONED,
            retry_after=paused,
            error="paused: too many rejected requests to Discord recently",
        )
    # Waiting for a slot is not part of the request's time budget.
    await pacer.acquire()
    try:
        async with asyncio.timeout(budget):
            made = await request()
    except discord.RateLimited as exc:
        return PublishResult(
            PublishOutcome.POSTPONED,
            retry_after=exc.retry_after,
            error=f"rate limited for {exc.retry_after:.0f}s",
        )
    except discord.HTTPException as exc:
        if exc.status == 401:
            log.critical("Discord rejected the bot token (401); deliveries are on hold")
            return PublishResult(
                PublishOutcome.POSTPONED,
                retry_after=TOKEN_RETRY_AFTER,
                error="Discord rejected the bot token (401)",
            )
        if exc.status == 429 or exc.status >= 500:
            return PublishResult(
                PublishOutcome.RETRY, error=f"Discord answered {exc.status}: {exc.text[:200]}"
            )
        return on_http_error(exc)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return PublishResult(PublishOutcome.RETRY, error=f"network error: {error_text(exc)}")
    return PublishResult(PublishOutcome.SENT, message_id=made)


class DiscordPublisher:
    """Implements the Publisher port on a logged-in discord.py client."""

    target = "discord"

    def __init__(
        self,
        client: discord.Client,
        pacer: RequestPacer,
        *,
        link_base: str = DISCORD_WEB,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self._client = client
        self._pacer = pacer
        self._link_base = link_base
        self._timeout = timeout

    async def publish(self, job: DeliveryJob) -> PublishResult:
        """Carry out one job; every per-channel problem becomes an outcome."""
        action: Callable[[DeliveryJob], Awaitable[discord.Message]] = {
            DeliveryKind.POST: self._post,
            DeliveryKind.EDIT: self._edit,
            DeliveryKind.FOLLOWUP: self._followup,
            DeliveryKind.REMINDER: self._reminder,
        }[job.kind]

        async def send() -> int:
            return (await action(job)).id

        result = await paced_call(
            self._pacer, self._timeout, send, lambda exc: self._http_failure(job, exc)
        )
        if (
            job.kind is DeliveryKind.POST
            and job.subscription.threads
            and result.outcome is PublishOutcome.SENT
            and result.message_id is not None
        ):
            thread = await self._open_thread(job, result.message_id)
            result = dataclasses.replace(result, thread_id=thread)
        return result

    # ------------------------------------------------------------------ actions

    def _channel(self, job: DeliveryJob) -> discord.PartialMessageable:
        sub = job.subscription
        return self._client.get_partial_messageable(sub.channel_id, guild_id=sub.guild_id)

    async def _post(self, job: DeliveryJob) -> discord.Message:
        role = job.subscription.role_id
        return await self._channel(job).send(
            content=post_content(job.event, role_id=role),
            embed=render_event_embed(job.event, role_id=role),
            nonce=job.nonce,
            allowed_mentions=alert_mentions(role),
        )

    async def _edit(self, job: DeliveryJob) -> discord.Message:
        assert job.message_id is not None  # the outbox only hands out edits of posted alerts
        role = job.subscription.role_id
        extra: dict[str, Any] = {}
        if role:
            # Keep the one-line status in the content current; edits never ping.
            extra["content"] = post_content(job.event, role_id=role)
        message = self._channel(job).get_partial_message(job.message_id)
        return await message.edit(
            embed=render_event_embed(job.event, role_id=role),
            allowed_mentions=discord.AllowedMentions.none(),
            **extra,
        )

    async def _followup(self, job: DeliveryJob) -> discord.Message:
        sub = job.subscription
        tag = job.followup_status or job.event.status.value
        content = notice_content(
            job.event,
            tag,
            role_id=sub.role_id,
            jump_url=self._alert_link(job),
            webcast=schedule_link(job.event),
        )
        return await self._reply(job, content)

    async def _reminder(self, job: DeliveryJob) -> discord.Message:
        assert job.reminder is not None  # the outbox gives every reminder its lead time
        content = reminder_content(
            job.event,
            job.reminder,
            role_id=job.subscription.role_id,
            jump_url=self._alert_link(job),
            webcast=schedule_link(job.event),
        )
        return await self._reply(job, content)

    def _alert_link(self, job: DeliveryJob) -> str | None:
        sub = job.subscription
        if not job.message_id:
            return None
        return message_link(self._link_base, sub.guild_id, sub.channel_id, job.message_id)

    async def _open_thread(self, job: DeliveryJob, message_id: int) -> int | None:
        """Open the launch's thread on its alert; its id (the message's), or None when
        Discord refuses (the follow-ups then reply in the channel).

        A post repeated after a crash finds the thread already there (160004): a thread
        started from a message has the message's id."""
        sub = job.subscription
        name = truncate(job.event.name, THREAD_NAME_MAX) or "Launch"
        try:
            await self._pacer.acquire()
            async with asyncio.timeout(self._timeout):
                await self._client.http.start_thread_with_message(
                    sub.channel_id,
                    message_id,
                    name=name,
                    auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                )
        except discord.HTTPException as exc:
            if exc.code == THREAD_ALREADY_CREATED:
                return message_id
            why = (
                "missing permission: Create Public Threads"
                if isinstance(exc, discord.Forbidden)
                else f"Discord answered {exc.status}: {exc.text[:200]}"
            )
            log.warning(
                "no thread for the alert in channel %d (%s); follow-ups reply in the channel",
                sub.channel_id,
                why,
            )
            return None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("no thread for the alert in channel %d: %s", sub.channel_id, exc)
            return None
        return message_id

    async def _reply(self, job: DeliveryJob, content: str) -> discord.Message:
        """Send ``content`` into the launch's thread, or as a reply to the job's alert (a
        plain message if replies are not allowed there)."""
        if job.thread_id:
            sent = await self._in_thread(job, job.thread_id, content)
            if sent is not None:
                return sent
        sub = job.subscription
        reference = None
        if job.message_id and self._may_reply(sub.channel_id):
            reference = discord.MessageReference(
                message_id=job.message_id,
                channel_id=sub.channel_id,
                guild_id=sub.guild_id,
                fail_if_not_exists=False,
            )
        channel = self._channel(job)
        kwargs: dict[str, Any] = {
            "content": content,
            "nonce": job.nonce,
            "allowed_mentions": alert_mentions(sub.role_id),
        }
        try:
            return await channel.send(**kwargs, reference=reference)  # type: ignore[arg-type]
        except discord.Forbidden as exc:
            if reference is None or exc.code != MISSING_PERMISSIONS:
                raise
        # Replying needs Read Message History; the link alone is enough without it.
        await self._pacer.acquire()
        return await channel.send(**kwargs)

    async def _in_thread(
        self, job: DeliveryJob, thread_id: int, content: str
    ) -> discord.Message | None:
        """Post in the thread, unarchiving it first if it went quiet; None when the thread
        is gone, locked or closed to the bot (the caller falls back to the channel)."""
        thread = self._client.get_partial_messageable(thread_id, guild_id=job.subscription.guild_id)
        kwargs: dict[str, Any] = {
            "content": content,
            "nonce": job.nonce,
            "allowed_mentions": alert_mentions(job.subscription.role_id),
        }
        for attempt in range(2):
            try:
                return await thread.send(**kwargs)
            except discord.HTTPException as exc:
                if exc.status == 429 or exc.status >= 500 or exc.status == 401:
                    raise
                if exc.code != THREAD_ARCHIVED or attempt:
                    log.info(
                        "thread %d refused a follow-up (%s); using the channel", thread_id, exc
                    )
                    return None
            try:
                await self._pacer.acquire()
                await self._client.http.edit_channel(thread_id, archived=False)
            except discord.HTTPException as exc:
                if exc.status == 429 or exc.status >= 500:
                    raise
                log.info("cannot unarchive thread %d (%s); using the channel", thread_id, exc)
                return None
            await self._pacer.acquire()
        return None

    def _may_reply(self, channel_id: int) -> bool:
        perms = self._cached_permissions(channel_id)
        return perms is None or perms.read_message_history

    # ------------------------------------------------------------------ errors

    def _cached_permissions(self, channel_id: int) -> discord.Permissions | None:
        channel = self._client.get_channel(channel_id)
        guild = getattr(channel, "guild", None)
        if channel is None or guild is None or guild.me is None:
            return None
        return channel.permissions_for(guild.me)  # type: ignore[union-attr]

    def _why_forbidden(self, job: DeliveryJob, exc: discord.Forbidden) -> str:
        where = f"<#{job.subscription.channel_id}>"
        perms = self._cached_permissions(job.subscription.channel_id)
        if perms is not None:
            channel = self._client.get_channel(job.subscription.channel_id)
            missing = missing_permissions(perms, thread=isinstance(channel, discord.Thread))
            if missing:
                return f"missing permission: {', '.join(missing)} in {where}"
        if exc.code == MISSING_ACCESS:
            return f"missing access: the bot cannot see {where} (View Channel)"
        if exc.code == MISSING_PERMISSIONS:
            return f"missing permission: Send Messages / Embed Links in {where}"
        return f"Discord refused to post in {where}: {exc.text or exc.status}"

    def _http_failure(self, job: DeliveryJob, exc: discord.HTTPException) -> PublishResult:
        channel = job.subscription.channel_id
        if isinstance(exc, discord.NotFound):
            if exc.code == UNKNOWN_MESSAGE and job.kind is DeliveryKind.EDIT:
                log.info(
                    "alert message %s in channel %d was deleted; not updating it",
                    job.message_id,
                    channel,
                )
                return PublishResult(
                    PublishOutcome.REJECTED, error="the alert message was deleted in Discord"
                )
            reason = (
                "the channel was deleted"
                if exc.code == UNKNOWN_CHANNEL
                else "the server or channel no longer exists"
            )
            return PublishResult(PublishOutcome.GONE, error=reason)
        if isinstance(exc, discord.Forbidden):
            return PublishResult(PublishOutcome.GONE, error=self._why_forbidden(job, exc))
        log.error(
            "Discord rejected job=%d kind=%s channel=%d: %s %s",
            job.id,
            job.kind,
            channel,
            exc.status,
            exc.text[:500],
        )
        return PublishResult(
            PublishOutcome.REJECTED,
            error=f"Discord rejected the message ({exc.status}): {exc.text[:300]}",
        )
