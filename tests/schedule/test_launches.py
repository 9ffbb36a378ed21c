"""Launch Library 2 records read into ScheduledLaunch values (hand-written records)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.domain import LaunchStatus
from handlers.schedule.launches import NetPrecision, ScheduleStatus, parse_page
from tests.fakeschedule import ll2_launch

NET = datetime(2030, 6, 12, 14, 30, tzinfo=UTC)


def test_a_detailed_record_gives_every_field_we_show():
    record = ll2_launch(
        "a1", net=NET, crew=4, webcasts=("https://video.example/live",), mission="Crew-20"
    )
    [launch], skipped = parse_page({"results": [record]})
    assert skipped == []
    assert launch.id == "a1" and launch.name == "Falcon 9 Block 5 | Crew-20"
    assert launch.status is ScheduleStatus.GO and launch.net == NET
    assert launch.net_precision is NetPrecision.MINUTE and launch.net_precision.has_time
    assert (launch.vehicle, launch.mission, launch.provider) == (
        "Falcon 9 Block 5",
        "Crew-20",
        "SpaceX",
    )
    assert launch.pad == "Space Launch Complex 40" and launch.location.startswith("Cape Canaveral")
    assert launch.crewed is True and launch.probability == 90
    assert launch.webcasts == ("https://video.example/live",)


@pytest.mark.parametrize(
    ("abbrev", "status", "pending"),
    [
        ("Go", LaunchStatus.UPCOMING, True),
        ("TBD", LaunchStatus.UPCOMING, True),
        ("TBC", LaunchStatus.UPCOMING, True),
        ("Hold", LaunchStatus.SCRUBBED, True),
        ("In Flight", LaunchStatus.LAUNCHED, False),
        ("Success", LaunchStatus.LAUNCHED, False),
        ("Failure", LaunchStatus.FAILED, False),
        ("Partial Failure", LaunchStatus.FAILED, False),
    ],
)
def test_schedule_statuses_read_as_event_statuses(abbrev, status, pending):
    [launch], _ = parse_page({"results": [ll2_launch("a", net=NET, status=abbrev)]})
    assert launch.status.launch_status is status and launch.status.pending is pending


def test_a_status_known_only_by_its_id_and_a_coarse_net():
    record = ll2_launch("a", net=NET, precision="M")
    record["status"] = {"id": 9}  # Payload Deployed, newer than our names
    [launch], _ = parse_page({"results": [record]})
    assert launch.status is ScheduleStatus.PAYLOAD_DEPLOYED
    assert launch.net_precision is NetPrecision.COARSE and not launch.net_precision.has_time


def test_unusable_records_are_skipped_with_a_reason_and_the_rest_kept():
    good = ll2_launch("good", net=NET)
    no_net = ll2_launch("no-net", net=NET) | {"net": None}
    naive = ll2_launch("naive", net=NET) | {"net": "2030-06-12T14:30:00"}
    odd_status = ll2_launch("odd", net=NET) | {"status": {"id": 99, "abbrev": "Maybe"}}
    launches, skipped = parse_page({"results": [good, no_net, naive, odd_status, "text"]})
    assert [launch.id for launch in launches] == ["good"]
    assert len(skipped) == 4 and any("no-net" in s for s in skipped)


def test_only_https_webcasts_are_kept_and_unknown_crew_stays_unknown():
    videos = (
        "javascript:alert(1)",
        "http://x.example",
        "https://ok.example/v",
        "https://ok.example/v",
    )
    record = ll2_launch("a", net=NET, webcasts=videos)
    record["rocket"]["spacecraft_stage"] = []
    [launch], _ = parse_page({"results": [record]})
    assert launch.webcasts == ("https://ok.example/v",)
    assert launch.crewed is None


@pytest.mark.parametrize("page", [[], {"count": 0}, {"results": "x"}, None])
def test_a_page_that_is_not_a_page_is_an_error(page):
    with pytest.raises(ValueError, match="not a page"):
        parse_page(page)
