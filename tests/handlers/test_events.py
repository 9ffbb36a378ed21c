"""Event resolution: one event per real launch, status only moves forward."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from handlers.domain import LaunchStatus, Notice
from handlers.events import next_status, resolve
from tests.builders import T0, article, mention

UP, SCRUB, LAUNCHED, FAILED = (
    LaunchStatus.UPCOMING,
    LaunchStatus.SCRUBBED,
    LaunchStatus.LAUNCHED,
    LaunchStatus.FAILED,
)


def _stored(change, event_id=1):
    return dataclasses.replace(change.event, id=event_id)


def test_first_mention_creates_an_event_with_its_facts():
    change = resolve(mention(LAUNCHED), article("a1", "Soyuz launches"), [], T0)
    assert change.is_new
    event = change.event
    assert (event.status, event.vehicle, event.mission, event.site, event.crewed) == (
        LAUNCHED,
        "Soyuz-2.1a",
        "Soyuz MS-28",
        "Baikonur Cosmodrome",
        True,
    )
    assert [s.article_key for s in event.sources] == ["a1"]
    assert [h.status for h in event.history] == [LAUNCHED]


def test_second_site_joins_the_same_event_and_adds_a_source():
    first = _stored(resolve(mention(LAUNCHED), article("a1"), [], T0))
    later = article("b7", site="Other Site", published=T0 + timedelta(hours=2))
    change = resolve(mention(LAUNCHED, site=None), later, [first], T0 + timedelta(hours=2))
    assert not change.is_new and change.changed and not change.status_changed
    assert [s.site for s in change.event.sources] == ["Example News", "Other Site"]
    assert change.event.revision == first.revision + 1
    assert change.event.site == "Baikonur Cosmodrome"  # a missing fact never erases a known one


def test_same_article_again_changes_nothing():
    first = _stored(resolve(mention(UP), article("a1"), [], T0))
    change = resolve(mention(UP), article("a1"), [first], T0)
    assert not change.changed and not change.is_new


def test_scrub_then_launch_is_one_event_with_history():
    event = _stored(resolve(mention(UP), article("p", published=T0), [], T0))
    t1 = T0 + timedelta(days=1)
    scrub = resolve(mention(SCRUB), article("s", published=t1), [event], t1)
    assert scrub.status_changed and scrub.event.status is SCRUB
    t2 = T0 + timedelta(days=3)
    launch = resolve(mention(LAUNCHED), article("l", published=t2), [scrub.event], t2)
    assert launch.status_changed and launch.event.status is LAUNCHED
    assert [h.status for h in launch.event.history] == [UP, SCRUB, LAUNCHED]
    assert launch.event.id == event.id


def test_late_preview_never_moves_a_launch_back_to_upcoming():
    launched = _stored(resolve(mention(LAUNCHED), article("l", published=T0), [], T0))
    later = T0 + timedelta(hours=5)
    change = resolve(mention(UP), article("old-preview", published=later), [launched], later)
    assert change.event.status is LAUNCHED and not change.status_changed


@pytest.mark.parametrize(
    ("current", "proposed", "newer", "expected"),
    [
        (UP, SCRUB, True, SCRUB),
        (SCRUB, UP, True, UP),
        (SCRUB, UP, False, SCRUB),  # an older preview does not undo a newer scrub
        (UP, LAUNCHED, False, LAUNCHED),
        (LAUNCHED, FAILED, True, FAILED),
        (FAILED, LAUNCHED, True, FAILED),
        (LAUNCHED, SCRUB, True, LAUNCHED),
    ],
)
def test_status_transitions(current, proposed, newer, expected):
    at = T0 + timedelta(hours=1 if newer else -1)
    assert next_status(current, T0, proposed, at) is expected


def test_same_key_long_after_a_launch_is_a_new_launch():
    launched = _stored(resolve(mention(LAUNCHED, key="falcon 9|starlink"), article("x"), [], T0))
    next_week = T0 + timedelta(days=7)
    change = resolve(
        mention(UP, key="falcon 9|starlink"),
        article("y", published=next_week),
        [launched],
        next_week,
    )
    assert change.is_new


def test_slipping_launch_stays_one_event_across_weeks():
    event = _stored(resolve(mention(UP), article("a", published=T0), [], T0))
    for week in range(1, 6):
        at = T0 + timedelta(weeks=week)
        change = resolve(
            mention(SCRUB if week % 2 else UP),
            article(f"w{week}", f"Week {week} update", published=at),
            [event],
            at,
        )
        assert not change.is_new
        event = change.event
    assert len(event.sources) == 6


def test_newer_launch_date_replaces_older_one_while_pending():
    first_date, slipped = T0 + timedelta(days=5), T0 + timedelta(days=9)
    event = _stored(resolve(mention(UP, launch_time=first_date), article("a"), [], T0))
    later = T0 + timedelta(days=1)
    change = resolve(
        mention(SCRUB, launch_time=slipped), article("b", published=later), [event], later
    )
    assert change.event.launch_time == slipped


def test_vague_report_joins_the_one_live_event_of_its_vehicle():
    artemis = _stored(
        resolve(
            mention(UP, key="sls|artemis-ii", vehicle="SLS", mission="Artemis II"),
            article("a"),
            [],
            T0,
        )
    )
    later = T0 + timedelta(days=1)
    vague = mention(SCRUB, key="sls|launch|2026-03-02", vehicle="SLS", mission=None)
    change = resolve(vague, article("b", published=later), [artemis], later)
    assert not change.is_new and change.event.status is SCRUB
    assert change.event.key == "sls|artemis-ii"


def test_specific_report_joins_a_vague_event_and_gives_it_its_key():
    vague = _stored(
        resolve(
            mention(UP, key="falcon-heavy|launch|2026-03-02", vehicle="Falcon Heavy", mission=None),
            article("a"),
            [],
            T0,
        )
    )
    later = T0 + timedelta(days=1)
    change = resolve(
        mention(
            LAUNCHED, key="falcon-heavy|viasat-3-f3", vehicle="Falcon Heavy", mission="ViaSat-3 F3"
        ),
        article("b", published=later),
        [vague],
        later,
    )
    assert not change.is_new
    assert change.event.key == "falcon-heavy|viasat-3-f3" and change.event.mission == "ViaSat-3 F3"


def test_vague_report_never_guesses_between_two_live_flights():
    one = _stored(
        resolve(
            mention(UP, key="falcon-9|starlink-10-1", vehicle="Falcon 9", mission="Starlink 10-1"),
            article("a"),
            [],
            T0,
        ),
        1,
    )
    two = _stored(
        resolve(
            mention(UP, key="falcon-9|starlink-10-2", vehicle="Falcon 9", mission="Starlink 10-2"),
            article("b"),
            [],
            T0,
        ),
        2,
    )
    vague = mention(LAUNCHED, key="falcon-9|launch|2026-03-01", vehicle="Falcon 9", mission=None)
    assert resolve(vague, article("c"), [one, two], T0).is_new


def test_generic_missions_on_consecutive_days_stay_apart():
    first = _stored(
        resolve(
            mention(
                LAUNCHED, key="falcon-9|starlink|2026-03-01", vehicle="Falcon 9", mission="Starlink"
            ),
            article("a"),
            [],
            T0,
        )
    )
    next_day = T0 + timedelta(days=1)
    second = mention(
        LAUNCHED, key="falcon-9|starlink|2026-03-02", vehicle="Falcon 9", mission="Starlink"
    )
    assert resolve(second, article("b", published=next_day), [first], next_day).is_new


def test_reports_naming_no_rocket_and_no_mission_never_join():
    """Two nameless launches of one day share a key, and nothing else."""
    key = "unknown|launch|2026-03-02"
    china = resolve(_nameless(LAUNCHED, crewed=False), article("a"), [], T0)
    later = T0 + timedelta(hours=3)
    japan = _nameless(LAUNCHED, crewed=False)
    change = resolve(japan, article("b", published=later), [_stored(china)], later)
    assert change.is_new and change.event.key == key


def _nameless(status, crewed):
    return mention(status, key="unknown|launch|2026-03-02", vehicle=None, mission=None,
                   site=None, crewed=crewed, agencies=())  # fmt: skip


def _soyuz(event_id, mission="Soyuz MS-29"):
    key = f"soyuz-2-1a|{mission.lower().replace(' ', '-')}"
    return _stored(resolve(mention(UP, key=key, mission=mission), article(key), [], T0), event_id)


def test_a_nameless_report_with_people_aboard_joins_the_one_live_crewed_launch():
    """ "Four astronauts headed to the station" names no rocket, but people narrow it."""
    later = T0 + timedelta(hours=6)
    change = resolve(_nameless(LAUNCHED, True), article("b", published=later), [_soyuz(1)], later)
    assert not change.is_new and change.event.status is LAUNCHED
    assert change.event.key == "soyuz-2-1a|soyuz-ms-29"


def test_a_nameless_crewed_report_days_later_joins_the_launch_of_the_day_it_names():
    """A profile days after the launch ("... flew to space on Friday") states the day."""
    flight = _soyuz(1)
    launched = _stored(resolve(mention(LAUNCHED, key=flight.key), article("l"), [flight], T0))
    later = T0 + timedelta(days=5)
    profile = dataclasses.replace(_nameless(LAUNCHED, True), launch_time=T0)
    assert not resolve(profile, article("p", published=later), [launched], later).is_new
    other_day = dataclasses.replace(profile, launch_time=T0 - timedelta(days=1))
    assert resolve(other_day, article("q", published=later), [launched], later).is_new


@pytest.mark.parametrize(
    ("crewed", "live"),
    [
        (True, ["Soyuz MS-29", "Soyuz MS-30"]),  # two crewed launches live: could be either
        (False, ["Soyuz MS-29"]),  # satellites: nothing narrows a nameless report
        (None, ["Soyuz MS-29"]),
    ],
)
def test_a_nameless_report_stays_apart_when_it_could_mean_another_launch(crewed, live):
    events = [_soyuz(i, name) for i, name in enumerate(live, start=1)]
    later = T0 + timedelta(hours=6)
    assert resolve(_nameless(LAUNCHED, crewed), article("b", published=later), events, later).is_new


def test_a_pending_launch_of_a_rare_rocket_gathers_its_vague_reports_for_weeks():
    """ "Ariane 5 launch postponed" on day 0, "Ariane 5 back on track" a week later and the
    launch report ten days after that are one launch; the next report after it is not."""

    def a5(status, day):
        when = T0 + timedelta(days=day)
        key = f"ariane-5|launch|{when.date().isoformat()}"
        return mention(status, key=key, vehicle="Ariane 5", mission=None, site=None,
                       crewed=False, agencies=()), article(key, published=when), when  # fmt: skip

    m, a, at = a5(SCRUB, 0)
    event = _stored(resolve(m, a, [], at))
    for status, day in ((UP, 7), (LAUNCHED, 17)):
        m, a, at = a5(status, day)
        change = resolve(m, a, [event], at)
        assert not change.is_new, day
        event = _stored(change)
    assert event.status is LAUNCHED
    m, a, at = a5(UP, 30)
    assert resolve(m, a, [event], at).is_new


def test_a_recurring_name_on_consecutive_days_is_one_launch_of_a_rare_family():
    """ "Atlas 5 to launch Amazon Leo satellites" then "Atlas 5 launches Amazon Leo"."""

    def leo(status, day, kin=True):
        when = T0 + timedelta(days=day)
        key = f"atlas-v|amazon-leo|{when.date().isoformat()}"
        flight = mention(status, key=key, vehicle="Atlas V", mission="Amazon Leo", site=None,
                         crewed=False, agencies=(), kin=kin)  # fmt: skip
        return flight, article(key, published=when), when

    m, a, at = leo(UP, 0)
    event = _stored(resolve(m, a, [], at))
    m, a, at = leo(LAUNCHED, 1)
    assert not resolve(m, a, [event], at).is_new
    m, a, at = leo(LAUNCHED, 1, kin=False)  # a family flying several times a week
    assert resolve(m, a, [event], at).is_new
    m, a, at = leo(UP, 9)  # the next flight of the family
    assert resolve(m, a, [event], at).is_new


# --------------------------------------------------------------------------- two names
def _f9(status, key, mission, day=None, kin=True):
    when = (T0 + timedelta(days=day)) if day is not None else None
    return mention(
        status, key=key, vehicle="Falcon 9", mission=mission, site=None, crewed=False,
        agencies=("Northrop Grumman",), launch_time=when, kin=kin,
    )  # fmt: skip


DAY = (T0 + timedelta(days=2)).date().isoformat()


def test_a_recurring_name_joins_the_numbered_flight_of_that_day():
    """ "Cygnus" and "NG-24" are one launch when the days agree."""
    ng = _stored(resolve(_f9(UP, "falcon-9|ng-24", "NG-24", day=2), article("a"), [], T0))
    later = T0 + timedelta(days=2)
    cygnus = _f9(LAUNCHED, f"falcon-9|ng|{DAY}", "Cygnus", day=2)
    change = resolve(cygnus, article("b", published=later), [ng], later)
    assert not change.is_new and change.event.status is LAUNCHED
    assert (change.event.key, change.event.mission) == ("falcon-9|ng-24", "NG-24")


def test_a_numbered_flight_joins_its_recurring_name_and_names_it():
    cygnus = _stored(resolve(_f9(UP, f"falcon-9|ng|{DAY}", "Cygnus", day=2), article("a"), [], T0))
    later = T0 + timedelta(days=1)
    ng = _f9(UP, "falcon-9|ng-24", "NG-24", day=2)
    change = resolve(ng, article("b", published=later), [cygnus], later)
    assert not change.is_new
    assert (change.event.key, change.event.mission) == ("falcon-9|ng-24", "NG-24")


@pytest.mark.parametrize(
    ("other_key", "other_day", "kin"),
    [
        ("falcon-9|ng-24", 2, False),  # a family flying several times a week
        ("falcon-9|starship-4", 2, True),  # not of the family
    ],
)
def test_recurring_names_stay_apart_when_they_could_mean_another_flight(other_key, other_day, kin):
    numbered = _stored(resolve(_f9(UP, other_key, "NG-24", day=other_day), article("a"), [], T0))
    later = T0 + timedelta(days=2)
    report = _f9(LAUNCHED, f"falcon-9|ng|{DAY}", "Cygnus", day=2, kin=kin)
    assert resolve(report, article("b", published=later), [numbered], later).is_new


def test_a_recurring_name_never_guesses_between_two_numbered_flights():
    first = _stored(resolve(_f9(UP, "falcon-9|ng-24", "NG-24", day=2), article("a"), [], T0))
    second = _stored(
        resolve(_f9(UP, "falcon-9|ng-25", "NG-25", day=2), article("b"), [], T0), event_id=2
    )
    later = T0 + timedelta(days=2)
    report = _f9(LAUNCHED, f"falcon-9|ng|{DAY}", "Cygnus", day=2)
    assert resolve(report, article("c", published=later), [first, second], later).is_new


def test_a_flight_number_is_the_payload_flights_other_name():
    """ "New Glenn's third flight" names no mission: it joins the one live New Glenn event."""
    payload = mention(UP, key="new-glenn|bluebird-7", vehicle="New Glenn", mission="BlueBird 7")
    event = _stored(resolve(payload, article("a"), [], T0))
    later = T0 + timedelta(days=1)
    third = mention(
        LAUNCHED, key="new-glenn|flight-3|2026-03-02", vehicle="New Glenn", mission="Flight 3"
    )
    change = resolve(third, article("b", published=later), [event], later)
    assert not change.is_new and change.event.key == "new-glenn|bluebird-7"


# --------------------------------------------------------------------------- launch time precision
def _timed(status, when, day_only):
    return dataclasses.replace(mention(status, launch_time=when), launch_day_only=day_only)


def test_a_date_alone_never_blurs_a_stated_time():
    exact = (T0 + timedelta(days=2)).replace(hour=14, minute=32)
    event = _stored(resolve(_timed(UP, exact, False), article("a"), [], T0))
    later = T0 + timedelta(hours=5)
    day = (T0 + timedelta(days=2)).replace(hour=0, minute=0)
    change = resolve(_timed(UP, day, True), article("b", published=later), [event], later)
    assert (change.event.launch_time, change.event.launch_day_only) == (exact, False)


def test_an_older_article_never_moves_a_later_stated_time():
    slipped = T0 + timedelta(days=6)
    newer = T0 + timedelta(days=1)
    event = _stored(resolve(_timed(SCRUB, slipped, True), article("a", published=newer), [], newer))
    stale = resolve(
        _timed(UP, T0 + timedelta(days=2), True), article("b", published=T0), [event], newer
    )
    assert stale.event.launch_time == slipped


def test_newer_news_of_a_pending_launch_sets_the_time_and_its_precision():
    event = _stored(resolve(_timed(UP, T0 + timedelta(days=2), True), article("a"), [], T0))
    later = T0 + timedelta(days=1)
    exact = T0 + timedelta(days=2, hours=3)
    change = resolve(_timed(UP, exact, False), article("b", published=later), [event], later)
    assert (change.event.launch_time, change.event.launch_day_only) == (exact, False)
    assert change.changed


def test_a_vague_report_of_a_rocket_flying_several_times_a_week_joins_nothing():
    """ "Falcon 9 launches from California" could be any of this week's Falcon 9 flights."""
    crew = _stored(resolve(_f9(UP, "falcon-9|crew-15", "Crew-15", day=1), article("a"), [], T0))
    later = T0 + timedelta(days=1)
    vague = dataclasses.replace(
        _f9(LAUNCHED, "falcon-9|launch|2026-03-02", None, day=1), vague_joins=False
    )
    assert resolve(vague, article("b", published=later), [crew], later).is_new
    joins = dataclasses.replace(vague, vague_joins=True)
    assert not resolve(joins, article("c", published=later), [crew], later).is_new


def test_a_recurring_name_a_week_from_the_numbered_flight_is_another_launch():
    week = T0 + timedelta(days=8)
    numbered = _stored(
        resolve(_f9(UP, "falcon-9|ng-24", "NG-24", day=8), article("a", published=week), [], week)
    )
    report = _f9(LAUNCHED, "falcon-9|ng|2026-03-01", "Cygnus", day=0)
    assert resolve(report, article("b", published=T0), [numbered], week).is_new


def test_a_named_flight_reported_without_its_rocket_is_the_same_launch():
    """ "SpaceX launches Euclid" (no rocket) and "Falcon 9 launches Euclid" are one event."""
    bare = _stored(resolve(_f9(UP, "unknown|euclid", "Euclid"), article("a"), [], T0))
    later = T0 + timedelta(hours=6)
    named = _f9(LAUNCHED, "falcon-9|euclid", "Euclid")
    change = resolve(named, article("b", published=later), [bare], later)
    assert not change.is_new and change.event.key == "falcon-9|euclid"
    # and the other way round
    event = _stored(resolve(named, article("c"), [], T0))
    back = resolve(_f9(LAUNCHED, "unknown|euclid", "Euclid"), article("d", published=later),
                   [event], later)  # fmt: skip
    assert not back.is_new and back.event.key == "falcon-9|euclid"


def test_one_flight_name_on_two_named_rockets_stays_two_events():
    first = _stored(resolve(_f9(UP, "falcon-9|demo-1", "Demo-1"), article("a"), [], T0))
    other = _f9(UP, "new-glenn|demo-1", "Demo-1")
    assert resolve(other, article("b"), [first], T0).is_new


@pytest.mark.parametrize(
    ("first_site", "second_site", "one_launch"),
    [
        ("Cape Canaveral SFS", "Vandenberg SFB", False),  # one from each coast, one day
        ("Cape Canaveral SFS", "Kennedy Space Center", True),  # the Cape, for pad 39A
        ("Vandenberg SFB", None, True),  # a report naming no site can be either
    ],
)
def test_same_day_reports_from_two_sites_are_two_launches(first_site, second_site, one_launch):
    def starlink(site):
        return mention(UP, key="falcon-9|starlink|2026-03-01", vehicle="Falcon 9",
                       mission="Starlink", site=site, crewed=False, agencies=())  # fmt: skip

    first = _stored(resolve(starlink(first_site), article("a"), [], T0))
    later = T0 + timedelta(hours=2)
    change = resolve(starlink(second_site), article("b", published=later), [first], later)
    assert change.is_new is not one_launch


def _electron(event_id, mission="Electron", status=UP):
    key = f"electron|launch|{T0.date().isoformat()}"
    flight = mention(status, key=key, vehicle="Electron", mission=None, site=None,
                     crewed=False, agencies=("Rocket Lab", "NASA"))  # fmt: skip
    return _stored(resolve(flight, article(f"{mission}{event_id}"), [], T0), event_id)


@pytest.mark.parametrize(
    ("agencies", "vague_joins", "events", "joins"),
    [
        (("Rocket Lab",), True, 1, True),  # "Rocket Lab launches 7 satellites"
        (("Rocket Lab",), True, 2, False),  # two Electron launches live: either
        (("NASA",), False, 1, False),  # a customer of many rockets names no one launch
        (("Rocket Lab",), False, 1, False),  # a provider flying several times a week
        ((), True, 1, False),
    ],
)
def test_a_nameless_report_joins_the_one_live_launch_of_the_provider_it_names(
    agencies, vague_joins, events, joins
):
    live = [_electron(i) for i in range(1, events + 1)]
    report = dataclasses.replace(
        _nameless(LAUNCHED, crewed=False), agencies=agencies, vague_joins=vague_joins
    )
    later = T0 + timedelta(hours=5)
    assert resolve(report, article("r", published=later), live, later).is_new is not joins


# --------------------------------------------------------------------------- status notices
def _merge_notices(before, after_mention, at=None):
    at = at or T0 + timedelta(hours=1)
    first = _stored(resolve(before, article("a"), [], T0))
    return resolve(after_mention, article("b", published=at), [first], at).notices


NET = T0 + timedelta(days=1)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"status": UP}, {"status": SCRUB}, [(Notice.HOLD, "scrubbed")]),
        ({"status": UP}, {"status": LAUNCHED}, [(Notice.LIFTOFF, "launched")]),
        ({"status": LAUNCHED}, {"status": FAILED}, [(Notice.OUTCOME, "failed")]),
        ({"status": UP, "phase": "TBC"}, {"status": UP, "phase": "Go"}, [(Notice.GO, "go")]),
        (
            {"status": LAUNCHED, "phase": "In Flight"},
            {"status": LAUNCHED, "phase": "Success"},
            [(Notice.OUTCOME, "success")],
        ),
        (
            {"status": UP, "launch_time": NET},
            {"status": UP, "launch_time": NET + timedelta(hours=2)},
            [(Notice.TIME, f"time@{(NET + timedelta(hours=2)).isoformat()}")],
        ),
        # a day made exact is not a new time; nor a time read after liftoff; nor news again
        (
            {"status": UP, "launch_time": NET.replace(hour=0), "launch_day_only": True},
            {"status": UP, "launch_time": NET + timedelta(hours=2)},
            [],
        ),
        (
            {"status": LAUNCHED, "launch_time": NET},
            {"status": LAUNCHED, "launch_time": NET + timedelta(hours=2)},
            [],
        ),
        ({"status": UP, "phase": "Go"}, {"status": UP, "phase": "Go"}, []),
    ],
)
def test_a_change_names_the_notices_it_is_news_for(before, after, expected):
    assert list(_merge_notices(mention(**before), mention(**after))) == expected
