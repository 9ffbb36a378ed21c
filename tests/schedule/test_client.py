"""The Launch Library 2 client against the strict fake schedule on 127.0.0.1."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from handlers.errors import error_text
from handlers.schedule.client import ScheduleClient, ScheduleError, ScheduleThrottled
from handlers.schedule.launches import ScheduleStatus
from tests.fakeschedule import FakeSchedule, ll2_launch

NET = datetime(2030, 6, 12, 14, 30, tzinfo=UTC)
TOKEN = "ll2-key-0123456789abcdef"


async def test_reads_a_page_of_upcoming_launches():
    async with FakeSchedule() as ll2:
        ll2.upcoming = [ll2_launch("a", net=NET), ll2_launch("b", net=NET + timedelta(days=1))]
        async with ScheduleClient.open(ll2.base_url, version="9.9") as client:
            page = await client.fetch("upcoming")
    assert [launch.id for launch in page.launches] == ["a", "b"]
    assert page.launches[0].status is ScheduleStatus.GO
    _, path, headers = ll2.requests[0]
    assert path.startswith("/2.3.0/launches/upcoming/?") and "mode=detailed" in path
    assert headers["User-Agent"].startswith("LaunchWatch/9.9")
    assert "Authorization" not in headers


async def test_a_token_is_sent_as_the_api_asks_and_a_wrong_one_is_a_clear_error():
    async with FakeSchedule(tokens=frozenset({TOKEN})) as ll2:
        async with ScheduleClient.open(ll2.base_url, version="t", token=TOKEN) as client:
            await client.fetch("previous")
        assert ll2.requests[-1][2]["Authorization"] == f"Token {TOKEN}"
        async with ScheduleClient.open(ll2.base_url, version="t", token="wrong" * 5) as client:
            with pytest.raises(ScheduleError, match="HTTP 401") as caught:
                await client.fetch("upcoming")
    assert "wrong" not in error_text(caught.value)


@pytest.mark.parametrize("header", [True, False])
async def test_a_429_says_how_long_to_wait(header):
    async with (
        FakeSchedule(per_hour=1, retry_header=header) as ll2,
        ScheduleClient.open(ll2.base_url, version="t") as client,
    ):
        await client.fetch("upcoming")
        with pytest.raises(ScheduleThrottled) as caught:
            await client.fetch("upcoming")
    assert 3500 < caught.value.retry_after <= 3600


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"down": True}, "HTTP 503"),
        ({"body_override": b"<html>maintenance</html>"}, "unreadable page"),
        ({"body_override": b'{"results": 5}'}, "unreadable page"),
        ({"body_override": b"[" + b" " * 9_000_000 + b"]"}, "more than"),
    ],
)
async def test_a_broken_schedule_is_one_clear_error(setup, message):
    async with FakeSchedule() as ll2:
        for name, value in setup.items():
            setattr(ll2, name, value)
        async with ScheduleClient.open(ll2.base_url, version="t") as client:
            with pytest.raises(ScheduleError, match=message):
                await client.fetch("upcoming")


async def test_an_unreachable_schedule_is_a_schedule_error(caplog):
    caplog.set_level(logging.DEBUG)
    async with FakeSchedule() as ll2:
        url = ll2.base_url
    async with ScheduleClient.open(url, version="t", token=TOKEN) as client:
        with pytest.raises(ScheduleError, match="unreachable"):
            await client.fetch("upcoming")
    assert TOKEN not in caplog.text
