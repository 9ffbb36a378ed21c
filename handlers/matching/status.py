"""Where a launch story stands: launched, failed, scrubbed or upcoming, from its cues.

The headline decides; these predicates read the cue patterns of :mod:`handlers.matching.cues`
in normalised text, mind a vehicle that "deploys" or is the subject of a ground test, and
recognise round-ups and coverage notices.
"""

from __future__ import annotations

import re

from handlers.domain import LaunchStatus
from handlers.matching.cues import (
    ACTOR_LAUNCH,
    ACTOR_LAUNCHED,
    BACKGROUND,
    FAILED,
    GROUND_TEST,
    LAUNCH_NOUN,
    LAUNCH_WORD,
    LAUNCHED,
    NEGATIVE_SOFT,
    NOUNISH,
    ORBIT_WORD,
    PRE_EVENT,
    SCRUBBED,
    STRONG_UPCOMING,
    UPCOMING,
    VEHICLE_DEPLOYS,
    find,
)
from handlers.matching.text import ScannedText


def first_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    return pattern.search(text)


def scrub_match(text: str) -> re.Match[str] | None:
    """A scrub cue that is the news, not background ("to launch after weather delays")."""
    for m in SCRUBBED.finditer(text):
        if not BACKGROUND.search(text[: m.start()]):
            return m
    return None


#: After a launch verb: the launch is dated in the past ("launched in 2021", "in May 2019",
#: "last year", "three years ago"), so the story is about something else.
RETROSPECTIVE = re.compile(
    r"\s+(?:back\s+)?(?:in\s+(?:[a-z]+\s+)?(?:19|20)\d\d\b|last\s+year|"
    r"(?:\d+|two|three|four|five|six|seven|eight|nine|ten|several)\s+years\s+ago)"
)


def launched_match(text: str, vehicle_ends: frozenset[int] = frozenset()) -> re.Match[str] | None:
    """A launched cue that is not a noun use ("buys 10 launches", "future launches").

    ``vehicle_ends`` are where named vehicles end: "Falcon 9 rocket launches X" is a verb.
    """
    for m in LAUNCHED.finditer(text):
        word = m.group(0)
        before = text[max(0, m.start() - 25) : m.start()]
        if PRE_EVENT.search(before):
            continue
        if word == "launches" and vehicle_is_rocket(m.start(), vehicle_ends):
            return m
        if word == "launches" and re.search(
            r"(?<![a-z0-9])(?:buys?|books?|orders?|adds?|more|of|future|two|three|four|five|six|"
            r"several|many|its|their|all|for|pauses|halts|resumes|approves|dozen|\d+ more)\s+"
            r"(?:\S+\s+){0,2}$|(?:rocket|orbital|commercial|crewed|space|satellite)\s+$",
            before,
        ):
            continue
        if word == "launches" and re.match(r"\s+(?:in|this|per|a year|of|at)\b", text[m.end() :]):
            continue
        if RETROSPECTIVE.match(text, m.end()):
            continue  # "Landsat 9, launched in 2021, ...": background, not news
        return m
    return None


def is_coverage(norm: str) -> bool:
    """Explicit coverage of one launch outranks the background words around it."""
    return bool(re.search(r"(?<![a-z])(?:live coverage|watch live|sets? coverage for)", norm))


def strong_head(norm: str) -> bool:
    """The headline's news is the launch itself (so docking/landing words are secondary)."""
    if is_coverage(norm):
        return True
    launch = re.search(
        r"(?<![a-z])(?:launch(?:es|ed)?|lifts? off|liftoff|blasts? off)(?![a-z])", norm
    )
    soft = find(NEGATIVE_SOFT, norm)
    return bool(launch and soft and launch.start() < soft.start())


def vehicle_is_rocket(start: int, vehicle_ends: frozenset[int]) -> bool:
    """The word at ``start`` follows a named vehicle, directly or as "<vehicle> rocket"."""
    return start - 1 in vehicle_ends or start - len(" rocket ") in vehicle_ends


def status_of(norm: str, vehicle_ends: frozenset[int] = frozenset()) -> LaunchStatus | None:
    """Tense and aspect of one field: failed > launched > scrubbed > upcoming.

    ``vehicle_ends`` (where named vehicles end) lets a named rocket stand in for the word
    "launch": "PSLV fails to reach orbit", "Electron deploys seven satellites".
    """
    failed = find(FAILED, norm)
    if failed and (
        find(LAUNCH_WORD, norm)
        or find(ORBIT_WORD, norm)
        or vehicle_ends
        or launched_match(norm, vehicle_ends)
    ):
        return LaunchStatus.FAILED
    launched = launched_match(norm, vehicle_ends) or vehicle_deploys(norm, vehicle_ends)
    upcoming = find(UPCOMING, norm)
    scrub = scrub_match(norm)
    strong = find(STRONG_UPCOMING, norm)
    nounish = launched is not None and NOUNISH.fullmatch(launched.group(0)) is not None
    preview = strong is not None and launched is not None and strong.start() < launched.start()
    if launched and not preview and not (nounish and upcoming):
        return LaunchStatus.LAUNCHED
    if scrub and not is_coverage(norm):
        return LaunchStatus.SCRUBBED
    if upcoming or launched:
        return LaunchStatus.UPCOMING
    if scrub:
        return LaunchStatus.SCRUBBED
    return None


def actor_status(norm: str) -> LaunchStatus | None:
    """ "China launches radar satellite": who launches what, read as a launch report even
    when no other cue does ("Agency sends probe toward the Sun")."""
    m = find(ACTOR_LAUNCH, norm)
    if m is None or m.group("verb") is None:
        return None
    return LaunchStatus.LAUNCHED if ACTOR_LAUNCHED.match(m.group("verb")) else None


def vehicle_deploys(norm: str, vehicle_ends: frozenset[int]) -> re.Match[str] | None:
    """ "<vehicle> deploys N satellites": a rocket deploying payloads reports its launch."""
    if not vehicle_ends:
        return None
    m = find(VEHICLE_DEPLOYS, norm)
    return m if m and min(vehicle_ends) <= m.start() else None


def first_cue(norm: str) -> int | None:
    """Where the first tense cue of a text starts (None when it has none)."""
    found = (find(FAILED, norm), launched_match(norm), scrub_match(norm), find(UPCOMING, norm))
    starts = [m.start() for m in found if m is not None]
    return min(starts) if starts else None


def ground_test_only(status: LaunchStatus, head: ScannedText, lead: ScannedText) -> bool:
    """A fuelling test / static fire not tied to a named flight is not a launch story, nor
    is its delay (a postponed hot fire is not a scrub)."""
    return (
        status in (LaunchStatus.UPCOMING, LaunchStatus.SCRUBBED)
        and bool(find(GROUND_TEST, head.norm))
        and not (is_specific(head) or is_specific(lead))
    )


def ground_test_failure(norm: str) -> bool:
    """A vehicle failing in a ground test (no launch attempt) is not a launch story."""
    return bool(find(GROUND_TEST, norm) and find(FAILED, norm) and not find(LAUNCH_NOUN, norm))


def is_roundup(text: ScannedText) -> bool:
    """Several launch vehicles given equal weight: a round-up, not one launch."""
    return bool(re.search(r",|;| and | as | while ", text.norm))


def is_specific(text: ScannedText) -> bool:
    return any(not m.series.generic for m in text.missions)
