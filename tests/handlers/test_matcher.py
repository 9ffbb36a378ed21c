"""Launch-story matcher: statuses, hard negatives, entities, dates and event keys.

Every headline here is invented for the test (no publisher text).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.matcher_smoke import HARD_CASES, Case, case_errors
from handlers.domain import Article, LaunchStatus
from handlers.matching.matcher import LaunchMatcher, default_matcher

# A Monday; relative words ("Wednesday", "tomorrow") resolve against it.
PUBLISHED = datetime(2030, 6, 10, 9, 0, tzinfo=UTC)
U, S, L, F = (
    LaunchStatus.UPCOMING,
    LaunchStatus.SCRUBBED,
    LaunchStatus.LAUNCHED,
    LaunchStatus.FAILED,
)


@pytest.fixture(scope="module")
def matcher() -> LaunchMatcher:
    return default_matcher()


# ------------------------------------------------------------------------- statuses
@pytest.mark.parametrize(
    ("title", "summary", "status"),
    [
        # upcoming
        ("Live coverage: SpaceX to launch 27 Starlink satellites from Florida", "", U),
        ("Electron set to launch radar satellite from New Zealand", "", U),
        ("Shenzhou-25 crew ready for launch from Jiuquan", "", U),
        ("Soyuz MS-31 rolls out to the pad at Baikonur", "", U),
        ("ISRO targets June 14 for PSLV launch of ocean satellite", "", U),
        ("NASA sets coverage for Crew-15 launch to space station", "", U),
        ("Ariane 6 to loft weather satellite on Thursday", "", U),
        ("New Glenn poised for second flight", "", U),
        ("Artemis 3 countdown begins", "", U),
        ("Starship Flight 14 targets June 18 liftoff", "", U),
        # scrubbed
        ("Falcon 9 launch of Transporter-20 scrubbed due to weather", "", S),
        ("Vulcan stands down from Tuesday attempt", "", S),
        ("H3 launch postponed after ground equipment issue", "", S),
        ("Artemis 3 slips to July", "", S),
        ("Crew-15 launch delayed by 24 hours", "", S),
        ("SLS rolled back to the VAB ahead of storm", "", S),
        ("Electron aborts at ignition, team recycles", "", S),
        # launched
        ("SpaceX launches 24 Starlink satellites from California", "", L),
        ("Soyuz MS-31 blasts off to the ISS", "", L),
        ("Long March 2F lifts off with Shenzhou-25 crew", "", L),
        ("Rocket Lab's Electron lofts Earth-imaging satellite", "", L),
        ("Kuaizhou-1A sends three satellites to orbit", "", L),
        ("Crew-15 launches to the space station", "", L),
        ("Vega-C returns to flight with Earth observation satellite", "", L),
        ("Zhuque-3 debuts with successful orbital launch", "", L),
        # scrub then launch in one item -> launched
        ("After Monday scrub, Falcon 9 launches Crew-15", "", L),
        # failed
        ("Eris rocket fails shortly after liftoff", "", F),
        ("Ceres-1 launch fails, satellites lost", "", F),
        ("Nuri suffers launch anomaly, payload does not reach orbit", "", F),
        ("Starship explodes during launch over the Gulf", "", F),
        ("Communications satellite declared lost following Long March 3B launch", "", F),
    ],
)
def test_status(matcher: LaunchMatcher, title: str, summary: str, status: LaunchStatus) -> None:
    mention = matcher.match(title, summary, PUBLISHED)
    assert mention is not None, title
    assert mention.status is status, title


def test_headline_outweighs_summary(matcher: LaunchMatcher) -> None:
    mention = matcher.match(
        "Live coverage: Falcon 9 to launch Starlink 12-4 from Cape Canaveral",
        "The previous Falcon 9 launched on Saturday from the same pad.",
        PUBLISHED,
    )
    assert mention is not None and mention.status is U


def test_summary_settles_a_tenseless_headline(matcher: LaunchMatcher) -> None:
    mention = matcher.match(
        "Launching the first Vulcan with six boosters",
        "The Vulcan rocket lifted off at 3:10 a.m. EDT carrying a GPS III satellite.",
        PUBLISHED,
    )
    assert mention is not None and mention.status is L


def test_summary_supplies_the_subject(matcher: LaunchMatcher) -> None:
    mention = matcher.match(
        "Four astronauts head to orbit",
        "A Falcon 9 rocket launched the Crew-15 mission from Kennedy Space Center.",
        PUBLISHED,
    )
    assert mention is not None
    assert (mention.status, mention.mission, mention.vehicle) == (L, "Crew-15", "Falcon 9")


# ------------------------------------------------------------------------- hard negatives
@pytest.mark.parametrize(
    "title",
    [
        # contracts / business
        "SES buys five more Falcon 9 launches",
        "Space Force awards contract for 20 Vulcan launches",
        "Satellite startup selects Electron to launch its constellation",
        "Launch startup raises $80 million for Neutron rival",
        # statistics / cadence
        "SpaceX sets record launch cadence in first half of 2030",
        "China's launch statistics for the year so far",
        # pad approvals / licences
        "FAA approves Starship launches from Florida pad",
        "Regulator grants licence for SaxaVord launches",
        # docking / arrival
        "Crew-15 docks with the space station",
        "Progress MS-41 arrives at the ISS",
        # landing / splashdown / return
        "Crew-14 splashes down off Florida",
        "Shenzhou-24 astronauts return to Earth",
        # spacewalks
        "Astronauts complete spacewalk to replace battery",
        # failure investigations / grounding
        "Investigation into Vulcan booster anomaly continues",
        "Falcon 9 grounded pending mishap investigation",
        # crew assignments months away
        "NASA announces Crew-18 assignments",
        # missile tests
        "North Korea fires ballistic missile into the sea",
        "Military conducts ICBM test launch from Vandenberg",
        # product / app launches
        "Telecom operator launches Starlink roaming service",
        "Space agency launches new education app",
        # multi-launch round-ups
        "Launch roundup: Falcon 9, Electron and Long March 7 on the manifest",
        "Electron launches radar satellite, Ceres-1 lofts weather payloads",
        # after-launch operations
        "Sentinel-2D deploys solar arrays after reaching orbit",
        # months away (rubric: > ~6 weeks)
        "NASA targets November for Artemis 4 launch",
        # not about spaceflight at all
        "Volcano launches ash plume over island",
        "Company unveils new office in Bremen",
    ],
)
def test_hard_negatives(matcher: LaunchMatcher, title: str) -> None:
    assert matcher.match(title, "", PUBLISHED) is None, title


def test_ground_test_without_a_named_flight_is_not_a_launch(matcher: LaunchMatcher) -> None:
    assert (
        matcher.match("Test stand hosts static fire of new Neutron rocket", "", PUBLISHED) is None
    )
    tied = matcher.match("Falcon 9 test fires ahead of Crew-15 launch", "", PUBLISHED)
    assert tied is not None and tied.status is U


def test_a_launch_told_as_background_is_not_news(matcher: LaunchMatcher) -> None:
    summary = "Landsat 7, launched in 1999, is still sending images of Earth's land surface."
    assert matcher.match("Landsat 7: a quarter century of pictures", summary, PUBLISHED) is None
    news = matcher.match("Electron launched in 40 minutes after a hold clears", "", PUBLISHED)
    assert news is not None and news.status is L


def test_only_todays_launch_providers_launch_things(matcher: LaunchMatcher) -> None:
    """ESA flew Ariane 1 (the reference lists say so); it is not a launch provider today."""
    assert matcher.match("ESA launches new climate data project", "", PUBLISHED) is None
    assert matcher.match("Rocket Lab launches from Wallops", "", PUBLISHED) is not None


# ------------------------------------------------------------------------- entities
@pytest.mark.parametrize(
    ("title", "vehicle", "mission", "site", "crewed"),
    [
        ("Crew-15 launches to ISS", "Falcon 9", "Crew-15", None, True),
        (
            "Progress MS-41 to launch Thursday",
            "Soyuz-2.1a",
            "Progress MS-41",
            "Baikonur Cosmodrome",
            False,
        ),
        (
            "Shenzhou-26 lifts off",
            "Long March 2F",
            "Shenzhou-26",
            "Jiuquan Satellite Launch Center",
            True,
        ),
        ("Artemis 3 set for launch", "SLS", "Artemis III", "Kennedy Space Center", True),
        (
            "Chang Zheng 5 launches from Wenchang",
            "Long March 5",
            None,
            "Wenchang Space Launch Site",
            None,
        ),
        (
            "GSLV Mk III to launch from Sriharikota",
            "LVM3",
            None,
            "Satish Dhawan Space Centre",
            None,
        ),
        (
            "Falcon 9 launches Starlink 11-9 from SLC-4E",
            "Falcon 9",
            "Starlink 11-9",
            "Vandenberg SFB",
            False,
        ),
        (
            "Starlink 10-30 launch set from pad 39A",
            "Falcon 9",
            "Starlink 10-30",
            "Kennedy Space Center",
            False,
        ),
        ("Northrop Grumman CRS-25 launches to station", "Falcon 9", "NG-25", None, False),
        ("Starship Flight 14 lifts off from Boca Chica", "Starship", "Flight 14", "Starbase", None),
    ],
)
def test_entities(
    matcher: LaunchMatcher,
    title: str,
    vehicle: str,
    mission: str | None,
    site: str | None,
    crewed: bool | None,
) -> None:
    mention = matcher.match(title, "", PUBLISHED)
    assert mention is not None, title
    assert (mention.vehicle, mention.mission, mention.site, mention.crewed) == (
        vehicle,
        mission,
        site,
        crewed,
    )


def test_agencies_come_from_provider_mission_and_text(matcher: LaunchMatcher) -> None:
    mention = matcher.match("ESA and NASA watch Crew-15 launch on Falcon 9", "", PUBLISHED)
    assert mention is not None
    assert mention.agencies[0] == "SpaceX"
    assert {"NASA", "ESA"} <= set(mention.agencies)


def test_name_and_match_article(matcher: LaunchMatcher) -> None:
    article = Article(key="k1", title="Soyuz MS-31 blasts off to the ISS", published=PUBLISHED)
    mention = matcher.match_article(article)
    assert mention is not None
    assert mention.name == "Soyuz-2.1a | Soyuz MS-31"
    assert 0.0 < mention.confidence <= 1.0


# ------------------------------------------------------------------------- launch time
@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("H3 set to launch June 14", datetime(2030, 6, 14, tzinfo=UTC)),
        ("Vega-C to launch 20 June 2030", datetime(2030, 6, 20, tzinfo=UTC)),
        ("Falcon 9 to launch Crew-15 on Wednesday", datetime(2030, 6, 12, tzinfo=UTC)),
        ("Electron set to launch tomorrow", datetime(2030, 6, 11, tzinfo=UTC)),
        ("Atlas V to launch June 12 at 6:24 p.m. EDT", datetime(2030, 6, 12, 22, 24, tzinfo=UTC)),
        ("Falcon 9 launches Starlink 6-90 on Saturday", datetime(2030, 6, 8, tzinfo=UTC)),
        ("Falcon 9 to launch Starlink 6-91", None),
    ],
)
def test_launch_time(matcher: LaunchMatcher, title: str, expected: datetime | None) -> None:
    mention = matcher.match(title, "", PUBLISHED)
    assert mention is not None, title
    assert mention.launch_time == expected
    # A date alone is a day; only a stated clock time is a time.
    assert mention.launch_day_only is (expected is not None and "p.m." not in title)


def test_relative_dates_resolve_against_the_articles_own_date(matcher: LaunchMatcher) -> None:
    """An article read a week late still means its own "tomorrow"."""
    written = datetime(2030, 6, 3, 8, 0, tzinfo=UTC)
    mention = matcher.match("Electron set to launch tomorrow", "", written)
    assert mention is not None
    assert (mention.launch_time, mention.launch_day_only) == (
        datetime(2030, 6, 4, tzinfo=UTC),
        True,
    )


def test_relative_words_need_a_reference(matcher: LaunchMatcher) -> None:
    mention = matcher.match("Electron set to launch tomorrow", "", None)
    assert mention is not None and mention.launch_time is None


# ------------------------------------------------------------------------- event keys
def _key(matcher: LaunchMatcher, title: str, summary: str = "") -> str:
    mention = matcher.match(title, summary, PUBLISHED)
    assert mention is not None, title
    return mention.event_key


def test_same_launch_same_key_across_wordings(matcher: LaunchMatcher) -> None:
    keys = {
        _key(matcher, "NASA sets coverage for Artemis II launch"),
        _key(matcher, "Artemis 2 rolls out to the pad"),
        _key(matcher, "SLS launches Artemis II crew toward the Moon"),
        _key(matcher, "Artemis II launch slips to Thursday"),
    }
    assert keys == {"sls|artemis-ii"}


def test_same_launch_same_key_across_sites_and_statuses(matcher: LaunchMatcher) -> None:
    a = _key(matcher, "Live coverage: Falcon 9 to launch Crew-15 from Kennedy")
    b = _key(matcher, "Crew-15 launches to the ISS")
    c = _key(matcher, "SpaceX Crew-15 mission scrubbed", "The Falcon 9 stood down on Sunday.")
    assert a == b == c == "falcon-9|crew-15"


def test_different_starlink_groups_differ(matcher: LaunchMatcher) -> None:
    a = _key(matcher, "Falcon 9 to launch Starlink 10-12 from Florida")
    b = _key(matcher, "Falcon 9 to launch Starlink 6-80 from Florida")
    assert a != b
    assert a == "falcon-9|starlink-10-12"


def test_generic_missions_carry_the_date(matcher: LaunchMatcher) -> None:
    monday = matcher.match("SpaceX launches 24 Starlink satellites", "", PUBLISHED)
    tuesday = matcher.match(
        "SpaceX launches 24 Starlink satellites", "", datetime(2030, 6, 11, 9, tzinfo=UTC)
    )
    assert monday is not None and tuesday is not None
    assert monday.event_key == "falcon-9|starlink|2030-06-10"
    assert monday.event_key != tuesday.event_key


def test_stated_date_beats_published_in_generic_keys(matcher: LaunchMatcher) -> None:
    key = _key(matcher, "Falcon 9 to launch Starlink satellites on June 13")
    assert key == "falcon-9|starlink|2030-06-13"


def test_non_launch_text_is_none(matcher: LaunchMatcher) -> None:
    assert matcher.match("", "", None) is None
    assert matcher.match("Weekly podcast: the best of the month", "", None) is None


# ------------------------------------------------------------------------- generalisation
# The hand-written hard headlines of bench/matcher_smoke.py (invented, title-only,
# other years and vehicles, plus same-shape hard negatives) are unit tests too.
@pytest.mark.parametrize("case", HARD_CASES, ids=lambda c: c.title[:60])
def test_generalisation_hard_cases(matcher: LaunchMatcher, case: Case) -> None:
    assert case_errors(matcher, case) == [], case.title


@pytest.mark.parametrize(
    ("title", "status"),
    [
        ("Long March 2D rockets three satellites into orbit", L),
        ("Kuaizhou-11 successfully sends trio of satellites to orbit", L),
        ("Electron deploys 12 satellites for commercial customers", L),
        ("Zhuque-3 reaches orbit", L),
        ("PSLV fails to reach orbit with imaging satellite", F),
        ("Nuri suffers third-stage anomaly", F),
        ("Vulcan launch called off minutes before liftoff", S),
        ("ISRO reschedules GSLV launch", S),
        ("CASC prepares Long March 7A for next launch", U),
    ],
)
def test_general_headline_cues(matcher: LaunchMatcher, title: str, status: LaunchStatus) -> None:
    mention = matcher.match(title, "", PUBLISHED)
    assert mention is not None, title
    assert mention.status is status, title


def test_long_march_is_not_a_month(matcher: LaunchMatcher) -> None:
    mention = matcher.match("Long March 5 set to launch from Wenchang", "", PUBLISHED)
    assert mention is not None and mention.status is U
    assert mention.launch_time is None


def test_crew_launch_told_through_its_people(matcher: LaunchMatcher) -> None:
    mention = matcher.match("Four astronauts headed to the Moon", "", PUBLISHED)
    assert mention is not None and mention.status is L
    assert mention.event_key.startswith("unknown|launch|")


@pytest.mark.parametrize(
    "title",
    [
        "Satellite deploys solar arrays after reaching orbit",
        "Ten years since the launch of the first Long March 5",
        "Starship upper stage explodes during engine test",
        "Crew completes six-month mission aboard Tiangong",
    ],
)
def test_general_hard_negatives(matcher: LaunchMatcher, title: str) -> None:
    assert matcher.match(title, "", PUBLISHED) is None, title


@pytest.mark.parametrize(
    ("title", "site"),
    [
        ("Falcon Heavy soars with weather satellite", "Kennedy Space Center"),
        ("Zhuque-2 lofts three satellites", "Jiuquan Satellite Launch Center"),
        ("Galactic 12 flies tourists to space", "Spaceport America"),
    ],
)
def test_site_inferred_when_unambiguous(matcher: LaunchMatcher, title: str, site: str) -> None:
    mention = matcher.match(title, "", PUBLISHED)
    assert mention is not None and mention.site == site, title


def test_site_not_guessed_for_multi_site_vehicles(matcher: LaunchMatcher) -> None:
    mention = matcher.match("Falcon 9 launches 24 Starlink satellites", "", PUBLISHED)
    assert mention is not None and mention.site is None


# ------------------------------------------------------------------------- paraphrases
@pytest.mark.parametrize(
    ("title", "status"),
    [
        ("Cygnus NG-25 heads to the International Space Station", L),
        ("Virgin Galactic completes its seventh commercial spaceflight", L),
        ("New Shepard makes its 30th suborbital flight with six people", L),
        ("SpaceX lanza 24 satélites Starlink desde Florida", L),
        ("El cohete Falcon 9 despega con satélites Starlink", L),
        ("Arianespace lance un satellite météo avec Ariane 6", L),
        ("Vega-C : lancement prévu jeudi depuis Kourou", U),
    ],
)
def test_paraphrased_and_non_english_launch_verbs(
    matcher: LaunchMatcher, title: str, status: LaunchStatus
) -> None:
    got = matcher.match(title, "", PUBLISHED)
    assert got is not None and got.status is status, title


@pytest.mark.parametrize(
    "title",
    [
        "Agency completes first flight of a new research aircraft",
        "Starliner crewed flight slips to 2032",
        "Ariane 6 upgrade delayed to 2031 after engine review",
        "Starliner to fly in March 2032 at the earliest",
        "Shenzhou-25 astronauts arrive at China's space station",
        "Crew-15 reaches the space station after a day in orbit",
        "Ariane 6 hot fire test postponed again",
        "Neutron static fire delayed by a week",
    ],
)
def test_aircraft_flights_distant_slips_and_arrivals_are_not_launch_stories(
    matcher: LaunchMatcher, title: str
) -> None:
    assert matcher.match(title, "", PUBLISHED) is None, title


def test_repairs_for_a_launch_are_not_a_launch_report(matcher: LaunchMatcher) -> None:
    got = matcher.match("Teams complete SLS repairs for June launch", "", PUBLISHED)
    assert got is None or got.status is not L
    near = matcher.match("Vulcan launch delayed to next week", "", PUBLISHED)
    assert near is not None and near.status is S
    crew = matcher.match("Shenzhou-25 crew arrives at Jiuquan ahead of launch", "", PUBLISHED)
    assert crew is not None and crew.status is U


def test_a_recurring_name_keys_under_its_numbered_flights_family(matcher: LaunchMatcher) -> None:
    cygnus = matcher.match("Falcon 9 launches Cygnus cargo ship to the ISS", "", PUBLISHED)
    assert cygnus is not None and cygnus.mission == "Cygnus"
    assert cygnus.event_key.startswith("falcon-9|ng|") and cygnus.kin
    starlink = matcher.match("Falcon 9 launches 24 Starlink satellites", "", PUBLISHED)
    assert starlink is not None and not starlink.kin  # flies several times a week


def test_reports_naming_only_a_frequent_rocket_join_no_event(matcher: LaunchMatcher) -> None:
    vague = matcher.match("Falcon 9 lifts off from California", "", PUBLISHED)
    assert vague is not None and not vague.vague_joins
    rare = matcher.match("New Glenn lifts off from Florida", "", PUBLISHED)
    assert rare is not None and rare.vague_joins


def test_a_product_word_after_a_comma_is_another_clause(matcher: LaunchMatcher) -> None:
    title = "SpaceX launches Crew-16 mission, the company's twelfth with astronauts"
    got = matcher.match(title, "", PUBLISHED)
    assert got is not None and got.status is L
    assert matcher.match("Agency launches new company for rocket parts", "", PUBLISHED) is None


def test_a_programme_slipping_toward_a_far_year_is_not_a_scrub(matcher: LaunchMatcher) -> None:
    assert matcher.match("Why Artemis keeps slipping toward 2034", "", PUBLISHED) is None


# ------------------------------------------------------------------------- who launches what
# An actor (country, military, company) launching a payload: a launch story without a rocket.
ACTOR_LAUNCHES = [
    ("Japan launches weather satellite and small lunar lander", L),
    ("Indonesia launches its first Earth-observation satellite", L),
    ("Chinese rocket startup launches 12 satellites from sea platform", L),
    ("South Korea fails to launch reconnaissance satellite", F),
    ("Iranian satellite launch fails after second-stage problem", F),
    ("Space Force to launch missile-warning satellites on Thursday", U),
    ("European agency sends solar probe toward the Sun", L),
]
# Suborbital flights told by their operator, and near neighbours of the excluded classes.
STILL_LAUNCH_STORIES = [
    ("Virgin Galactic conducts fifth commercial suborbital flight", L),
    ("Virgin Galactic completes its first private astronaut flight", L),
    ("Virgin Galactic sets June 21 date for next spaceflight", U),
    ("Live coverage: Rocket Lab to launch weather satellite for Japan", U),
    ("NASA sets coverage for Crew-15 launch, docking", U),
    ("Progress MS-35 set to resume cargo flights from repaired pad", U),
    ("Rocket Lab to launch weather satellite on Friday", U),
]


@pytest.mark.parametrize(("title", "status"), ACTOR_LAUNCHES + STILL_LAUNCH_STORIES)
def test_launch_stories_without_a_named_rocket_or_near_excluded_classes(
    matcher: LaunchMatcher, title: str, status: LaunchStatus
) -> None:
    got = matcher.match(title, "", PUBLISHED)
    assert got is not None and got.status is status, title
    if (title, status) in ACTOR_LAUNCHES:
        assert got.vehicle is None


@pytest.mark.parametrize(
    "title",
    [
        # undated "<provider> to launch <payload>": a contract
        "Rocket Lab to launch three weather cubesats for university consortium",
        "Firefly to launch lunar relay satellite for space agency",
        # business and policy
        "Rocket Lab stock slides after quarterly report",
        "Boeing reports Starliner losses of another $200 million",
        "SpaceX plans back-to-back Starlink launches from two coasts",
        "China rolls out satellite messaging for emergency use",
        # failure aftermath
        "Agency opens enquiry into Vega C motor test failure",
        "Panel says valve design to blame for Electron mishap",
        "FAA wraps up New Glenn mishap review",
        # ground tests
        "Vulcan flight readiness firing delayed again",
        "Blue Origin engine explodes during testing in Texas",
        "Starship booster rolled back to the pad for more testing",
        "Artemis crew runs launch day demo at the Cape",
        # after the launch, and hardware moving
        "NASA sets coverage for Crew-15 departure from the station",
        "Core stage arrives in Florida for Artemis 4",
        "Blue Origin preparing to resume New Shepard flights",
        # "targets maritime" is not a March date
        "OneWeb targets maritime customers with new satellite coverage",
    ],
)
def test_excluded_classes_stay_silent(matcher: LaunchMatcher, title: str) -> None:
    assert matcher.match(title, "", PUBLISHED) is None, title


@pytest.mark.parametrize(
    ("title", "mission"),
    [
        ("Galactic Energy suffers its first launch failure", None),  # the company's count
        ("Rocket Lab launches its 60th mission with radar satellite", None),
        ("Neutron launches on its second flight from Virginia", "Flight 2"),  # the rocket's
    ],
)
def test_an_ordinal_is_a_flight_number_only_of_a_named_rocket(
    matcher: LaunchMatcher, title: str, mission: str | None
) -> None:
    got = matcher.match(title, "", PUBLISHED)
    assert got is not None and got.mission == mission, title


@pytest.mark.parametrize(
    ("title", "joins"),
    [
        ("Rocket Lab launches seven satellites for three customers", True),
        ("SpaceX launches 13 satellites for missile tracking network", False),
        ("NASA launches two small science satellites", False),
    ],
)
def test_a_report_naming_only_a_provider_joins_vaguely_unless_it_flies_weekly_or_buys_rides(
    matcher: LaunchMatcher, title: str, joins: bool
) -> None:
    got = matcher.match(title, "", PUBLISHED)
    assert got is not None and got.vehicle is None and got.mission is None, title
    assert got.vague_joins is joins
