"""Prometheus metrics fed by the pipeline and delivery hooks, and the HTTP endpoint serving them."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.health import HEARTBEAT_GATEWAY, HEARTBEAT_POLL
from bot.metrics import Metrics, serve_http
from handlers.domain import (
    DeliveryJob,
    DeliveryKind,
    LaunchEvent,
    LaunchStatus,
    Subscription,
    utc_now,
)
from handlers.events import resolve
from handlers.pipeline import PollReport
from handlers.ports import PublishOutcome, PublishResult
from storage import Storage
from tests.builders import T0, article, mention, subscribe_everything


def _value(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def _job(kind: DeliveryKind = DeliveryKind.POST, *, updated=T0) -> DeliveryJob:
    event = LaunchEvent(
        id=1,
        key="falcon 9|crew-12",
        status=LaunchStatus.LAUNCHED,
        vehicle="Falcon 9",
        mission="Crew-12",
        site=None,
        crewed=True,
        agencies=("NASA",),
        launch_time=None,
        summary="",
        first_seen=updated,
        updated=updated,
    )
    sub = Subscription(id=1, target="discord", guild_id=1, channel_id=100)
    return DeliveryJob(id=1, kind=kind, subscription=sub, event=event, attempts=0, nonce="lw-1")


def test_poll_reports_count_outcomes_errors_articles_and_stories():
    metrics = Metrics()
    metrics.observe_poll(PollReport(1, "https://a.example/feed", "seeded", new=40))
    metrics.observe_poll(
        PollReport(
            1,
            "https://a.example/feed",
            "ok",
            new=3,
            matched=2,
            statuses=(LaunchStatus.LAUNCHED, LaunchStatus.UPCOMING),
        )
    )
    metrics.observe_poll(PollReport(2, "https://b.example/feed", "not_modified"))
    metrics.observe_poll(
        PollReport(3, "https://c.example/feed", "error", error="timed out", error_kind="FetchError")
    )
    metrics.observe_poll(
        PollReport(
            4, "https://d.example/feed", "disabled", error="410", error_kind="HTTPStatusError"
        )
    )

    assert _value(metrics, "launchwatch_polls_total", outcome="ok") == 1
    assert _value(metrics, "launchwatch_polls_total", outcome="seeded") == 1
    assert _value(metrics, "launchwatch_polls_total", outcome="not_modified") == 1
    assert _value(metrics, "launchwatch_polls_total", outcome="error") == 1
    assert _value(metrics, "launchwatch_polls_total", outcome="disabled") == 1
    assert _value(metrics, "launchwatch_feed_errors_total", kind="FetchError") == 1
    assert _value(metrics, "launchwatch_feed_errors_total", kind="HTTPStatusError") == 1
    assert _value(metrics, "launchwatch_articles_new_total") == 43
    assert _value(metrics, "launchwatch_launch_stories_total", status="launched") == 1
    assert _value(metrics, "launchwatch_launch_stories_total", status="upcoming") == 1
    assert _value(metrics, "launchwatch_launch_stories_total", status="failed") == 0


def test_parse_times_and_stopped_parses_are_measured():
    metrics = Metrics()
    metrics.observe_poll(PollReport(1, "https://a.example/feed", "ok", parse_seconds=0.2))
    metrics.observe_poll(PollReport(2, "https://b.example/feed", "ok", parse_seconds=3.0))
    metrics.observe_poll(PollReport(3, "https://c.example/feed", "not_modified"))
    metrics.observe_poll(
        PollReport(
            4,
            "https://d.example/feed",
            "error",
            error="feed https://d.example/feed took longer than 15 s to parse",
            error_kind="ParseTimeoutError",
        )
    )
    assert _value(metrics, "launchwatch_parse_seconds_count") == 2
    assert _value(metrics, "launchwatch_parse_seconds_sum") == 3.2
    assert _value(metrics, "launchwatch_parse_seconds_bucket", le="0.25") == 1
    assert _value(metrics, "launchwatch_parses_stopped_total") == 1


def test_deliveries_count_by_outcome_and_time_only_sent_ones():
    now = T0 + timedelta(seconds=42)
    metrics = Metrics(clock=lambda: now)
    metrics.observe_delivery(_job(), PublishResult(PublishOutcome.SENT, message_id=5))
    metrics.observe_delivery(_job(DeliveryKind.EDIT), PublishResult(PublishOutcome.RETRY))
    metrics.observe_delivery(_job(), PublishResult(PublishOutcome.GONE, error="no access"))

    assert _value(metrics, "launchwatch_deliveries_total", outcome="sent", kind="post") == 1
    assert _value(metrics, "launchwatch_deliveries_total", outcome="retry", kind="edit") == 1
    assert _value(metrics, "launchwatch_deliveries_total", outcome="gone", kind="post") == 1
    assert _value(metrics, "launchwatch_delivery_latency_seconds_count") == 1
    assert _value(metrics, "launchwatch_delivery_latency_seconds_sum") == 42
    assert _value(metrics, "launchwatch_delivery_latency_seconds_bucket", le="30.0") == 0
    assert _value(metrics, "launchwatch_delivery_latency_seconds_bucket", le="60.0") == 1


def test_a_clock_behind_the_event_never_records_negative_latency():
    metrics = Metrics(clock=lambda: T0 - timedelta(seconds=5))
    metrics.observe_delivery(_job(), PublishResult(PublishOutcome.SENT, message_id=5))
    assert _value(metrics, "launchwatch_delivery_latency_seconds_sum") == 0


def test_gateway_latency_is_settable_and_ignores_not_connected_values():
    metrics = Metrics()
    metrics.gateway_latency.set(0.25)
    assert _value(metrics, "launchwatch_gateway_latency_seconds") == 0.25
    metrics.set_gateway_latency(float("inf"))  # discord.py's value before it connects
    assert _value(metrics, "launchwatch_gateway_latency_seconds") == 0.25
    metrics.set_gateway_latency(0.125)
    assert _value(metrics, "launchwatch_gateway_latency_seconds") == 0.125


def test_each_instance_has_its_own_registry():
    first, second = Metrics(), Metrics()  # would raise "Duplicated timeseries" if shared
    first.observe_poll(PollReport(1, "https://a.example/feed", "ok", new=1))
    assert _value(first, "launchwatch_articles_new_total") == 1
    assert _value(second, "launchwatch_articles_new_total") == 0


# ------------------------------------------------------------------------ the HTTP endpoint


@pytest.fixture
async def storage(tmp_path):
    async with Storage.open(tmp_path / "metrics.db") as store:
        yield store


async def _queue_one_post(store: Storage) -> None:
    """A subscribed channel and a new launch: one pending delivery in the outbox."""
    feed, _ = await store.feeds.add("https://news.example/feed", T0)
    await subscribe_everything(store, 100, T0)
    m, a = mention(), article("soyuz")
    async with store.events.ingest() as tx:
        await tx.insert_articles(feed.id, [a.key], T0)
        change = resolve(m, a, await tx.event_candidates(m.event_key, 0), T0)
        event = await tx.save_event(change, 0, feed.id, T0)
        await tx.enqueue_deliveries(event, change, 0, T0)


async def _get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def test_metrics_page_is_prometheus_text_with_a_fresh_outbox_depth(storage):
    metrics = Metrics()
    metrics.observe_poll(PollReport(1, "https://a.example/feed", "ok", new=2))
    async with serve_http(metrics, storage, 0, host="127.0.0.1") as endpoint:
        assert endpoint.port > 0
        status, content_type, body = await _get(endpoint.url + "/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(body)}
        assert families["launchwatch_outbox_pending"].samples[0].value == 0
        polls = {
            s.labels["outcome"]: s.value
            for s in families["launchwatch_polls"].samples
            if s.name == "launchwatch_polls_total"
        }
        assert polls["ok"] == 1 and polls["error"] == 0
        assert "launchwatch_delivery_latency_seconds" in families
        assert "launchwatch_gateway_latency_seconds" in families

        await _queue_one_post(storage)
        _, _, body = await _get(endpoint.url + "/metrics")
        families = {f.name: f for f in text_string_to_metric_families(body)}
        assert families["launchwatch_outbox_pending"].samples[0].value == 1


async def test_healthz_follows_the_poll_heartbeat(storage):
    async with serve_http(Metrics(), storage, 0, host="127.0.0.1") as endpoint:
        url = endpoint.url + "/healthz"
        assert await _get(url) == (
            503,
            "text/plain; charset=utf-8",
            "unhealthy: no poll heartbeat yet\n",
        )

        await storage.set_meta(HEARTBEAT_POLL, (utc_now() - timedelta(minutes=10)).isoformat())
        status, _, text = await _get(url)
        assert status == 503 and text.startswith("unhealthy: last poll heartbeat ")

        await storage.set_meta(HEARTBEAT_POLL, utc_now().isoformat())
        assert (await _get(url))[::2] == (200, "ok\n")


async def test_healthz_on_discord_needs_the_gateway_too(storage):
    await storage.set_meta("mode", "discord")
    await storage.set_meta(HEARTBEAT_POLL, utc_now().isoformat())
    async with serve_http(Metrics(), storage, 0, host="127.0.0.1") as endpoint:
        url = endpoint.url + "/healthz"
        assert (await _get(url))[::2] == (503, "unhealthy: no gateway heartbeat yet\n")
        await storage.set_meta(HEARTBEAT_GATEWAY, utc_now().isoformat())
        assert (await _get(url))[::2] == (200, "ok\n")


async def test_unknown_paths_are_404_and_the_port_is_freed_on_exit(storage):
    async with serve_http(Metrics(), storage, 0, host="127.0.0.1") as endpoint:
        assert (await _get(endpoint.url + "/"))[0] == 404
    with pytest.raises(aiohttp.ClientConnectionError):
        await _get(endpoint.url + "/healthz")
