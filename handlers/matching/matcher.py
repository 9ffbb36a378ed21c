"""Decide whether a news item is a launch story, and read what it says about the launch.

A *launch story* (see the product rubric) is an item whose main subject is one specific launch
attempt: a preview ("X to launch Y", live coverage, rollout, launch date set), a scrub or slip,
a launch report, or a failure. Everything else -- contracts, launch statistics, licences,
docking, landing, spacewalks, investigations, crew assignments, missiles, product "launches"
and multi-launch round-ups -- is not.

How it works (rules plus a gazetteer; pure, offline, no clock):

1. Text is normalised (:func:`handlers.matching.knowledge.normalize`) and scanned once for vehicles,
   sites, agencies (Aho-Corasick) and mission names (one compiled regex) from the KB.
2. Cue patterns written from the rubric's language are found in the headline and in the
   summary's lead: *failed* ("fails", "anomaly", "lost"), *launched* ("launches", "lifts off",
   "lofts", "sends ... to orbit"), *scrubbed* ("scrub", "delay", "slips", "rolls back"),
   *upcoming* ("to launch", "set for", "targets", "live coverage", "rolls out") and the
   hard-negative classes. The headline decides; the summary only fills in when the headline
   names a launch but has no tense cue, or names no vehicle/mission at all.
3. Entities: vehicle (from the text, else inferred from the mission series), mission, site
   (pad > site name > region, else the mission's or vehicle's only site), agencies (named +
   provider + mission operators), crewed, and a launch time read from explicit dates and
   relative words, anchored on ``published`` (never on the clock).

Event key format (same launch across sites and wordings -> same key)::

    "<vehicle-slug>|<mission-slug>"                 e.g. "falcon-9|crew-12", "sls|artemis-ii"
    "<vehicle-slug>|<mission-slug>|<YYYY-MM-DD>"    for recurring names without a number
                                                     ("falcon-9|starlink|2026-03-01") or no
                                                     mission ("electron|launch|2026-03-01")

The vehicle is the canonical vehicle (inferred from the mission when the text names none, so
"Artemis II" alone keys as ``sls|artemis-ii``); the slug is lower-case with runs of
non-alphanumerics turned into "-". The date is the stated launch date if any, else the
``published`` date, else ``undated``; the pipeline joins generic keys within a time window.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from handlers.domain import Article, LaunchMention, LaunchStatus
from handlers.matching.cues import (
    BACKGROUND,
    CREW_LAUNCH,
    CREWED,
    FAILED,
    FLIGHT_NUMBER,
    GROUND_TEST,
    LAUNCH_NOUN,
    LAUNCH_WORD,
    LAUNCHED,
    NEGATIVE_HARD,
    NEGATIVE_SOFT,
    NOUNISH,
    ORBIT_WORD,
    ORDINAL,
    ORDINAL_WORDS,
    PAYLOAD_HEAD,
    PRE_EVENT,
    PRODUCT,
    SCRUBBED,
    STRONG_UPCOMING,
    UNCREWED,
    UPCOMING,
    VEHICLE_DEPLOYS,
)
from handlers.matching.dates import launch_time, too_far
from handlers.matching.knowledge import (
    Hit,
    KnowledgeBase,
    MissionHit,
    best_site,
    default_knowledge,
    normalize,
)

__all__ = ["LaunchMatcher", "default_matcher", "event_key"]


_BOILERPLATE = re.compile(r"the post .*? appeared first on .*?(?:\.|$)", re.I | re.S)
_DATELINE = re.compile(
    r"^[^\n]{0,80}\((?:SPX|AFP|UPI|AP|Reuters|Xinhua)\)\s+\w{3}\s+\d{1,2},\s+\d{4}\s*", re.S
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


# --------------------------------------------------------------------------- helpers
@dataclass(frozen=True, slots=True)
class _Text:
    """One field (headline or summary lead) with what the KB found in it."""

    norm: str
    hits: tuple[Hit, ...]
    missions: tuple[MissionHit, ...]

    @property
    def vehicles(self) -> list[str]:
        return _dedup(h.name for h in self.hits if h.kind == "vehicle")

    @property
    def vehicle_ends(self) -> frozenset[int]:
        """Where each named vehicle ends in ``norm``."""
        return frozenset(h.end for h in self.hits if h.kind == "vehicle")

    @property
    def has_subject(self) -> bool:
        """Names something that launches: a vehicle or a mission."""
        return bool(self.missions) or any(h.kind == "vehicle" for h in self.hits)


def _dedup(items: Iterable[str]) -> list[str]:
    """Keep first occurrences in order (names repeat across headline and summary)."""
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def slug(text: str) -> str:
    """Lower-case, runs of non-alphanumerics -> "-" (stable key part)."""
    return re.sub(r"[^a-z0-9]+", "-", normalize(text).replace(".", "-")).strip("-")


def event_key(vehicle: str | None, mission: str | None, generic: bool, day: str | None) -> str:
    """Build the documented event key; generic or missing missions get the day appended."""
    base = f"{slug(vehicle) if vehicle else 'unknown'}|{slug(mission) if mission else 'launch'}"
    if mission is None or generic:
        return f"{base}|{day or 'undated'}"
    return base


def _clean_summary(summary: str) -> str:
    """Drop feed boilerplate and datelines that would leak dates and titles."""
    summary = _BOILERPLATE.sub(" ", summary)
    return _DATELINE.sub("", summary.strip())


def _lead(summary: str) -> str:
    """The first two sentences: where a summary states its news."""
    return " ".join(_SENTENCE.split(summary, maxsplit=2)[:2])


def _first(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    return pattern.search(text)


def _scrub_match(text: str) -> re.Match[str] | None:
    """A scrub cue that is the news, not background ("to launch after weather delays")."""
    for m in SCRUBBED.finditer(text):
        if not BACKGROUND.search(text[: m.start()]):
            return m
    return None


def _launched_match(text: str, vehicle_ends: frozenset[int] = frozenset()) -> re.Match[str] | None:
    """A launched cue that is not a noun use ("buys 10 launches", "future launches").

    ``vehicle_ends`` are where named vehicles end: "Falcon 9 rocket launches X" is a verb.
    """
    for m in LAUNCHED.finditer(text):
        word = m.group(0)
        before = text[max(0, m.start() - 25) : m.start()]
        if PRE_EVENT.search(before):
            continue
        if word == "launches" and _vehicle_rocket(m.start(), vehicle_ends):
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
        return m
    return None


# --------------------------------------------------------------------------- matcher
class LaunchMatcher:
    """Reads one news item and returns a :class:`LaunchMention` for launch stories."""

    def __init__(self, knowledge: KnowledgeBase | None = None) -> None:
        self.kb = knowledge if knowledge is not None else default_knowledge()
        self.providers = frozenset(v.provider for v in self.kb.vehicle_info.values())

    def match_article(self, article: Article) -> LaunchMention | None:
        """Match an :class:`Article` (uses its ``published`` as the date reference)."""
        return self.match(article.title, article.summary, article.published)

    def match(
        self, title: str, summary: str = "", published: datetime | None = None
    ) -> LaunchMention | None:
        """Return what the item says about one launch, or None when it is not a launch story."""
        head = self._read(title)
        lead = self._read(_lead(_clean_summary(summary)))
        named = head.hits or head.missions or lead.hits or lead.missions
        if not named and not CREW_LAUNCH.search(head.norm):
            return None
        verdict = self._classify(head, lead, published)
        if verdict is None:
            return None
        status, confidence = verdict
        return self._mention(status, confidence, head, lead, published)

    # ------------------------------------------------------------------ reading
    def _read(self, text: str) -> _Text:
        norm = normalize(text)
        missions = tuple(self.kb.find_missions(norm))
        hits = tuple(h for h in self.kb.scan(norm) if not _inside_mission(h, missions))
        return _Text(norm, hits, missions)

    # ------------------------------------------------------------------ status
    def _classify(
        self, head: _Text, lead: _Text, published: datetime | None
    ) -> tuple[LaunchStatus, float] | None:
        """Headline first; the summary lead settles tense or supplies the subject."""
        if self._rejected(head, strong=_strong_head(head.norm)):
            return None
        verdict = self._classify_tense(head, lead)
        if verdict and verdict[0] is LaunchStatus.UPCOMING and too_far(head.norm, published):
            return None
        return verdict

    def _classify_tense(self, head: _Text, lead: _Text) -> tuple[LaunchStatus, float] | None:
        """Status from the headline's cues, else from the summary lead's."""
        head_status = _status_of(head.norm, head.vehicle_ends)
        lead_ok = not self._rejected_lead(lead)
        lead_status = _status_of(lead.norm, lead.vehicle_ends) if lead_ok else None
        lead_outcome = lead_status if lead_status and lead_status.is_outcome else None
        if head_status is not None:
            return self._from_headline(head_status, head, lead, lead_outcome)
        if not lead_ok or lead_status is None or not self._subject(lead, lead_status):
            if _specific(head) and LAUNCH_NOUN.search(head.norm) and lead_status is None:
                return LaunchStatus.UPCOMING, 0.5
            return None
        named = _specific(head) or bool(head.vehicles)
        if head.has_subject and LAUNCH_WORD.search(head.norm):
            return lead_status, 0.6
        if named and lead_status.is_outcome:
            return lead_status, 0.5
        if (
            lead_status is LaunchStatus.LAUNCHED
            and PAYLOAD_HEAD.search(head.norm)
            and lead.vehicles
        ):
            return lead_status, 0.5
        return None

    def _from_headline(
        self,
        status: LaunchStatus,
        head: _Text,
        lead: _Text,
        lead_outcome: LaunchStatus | None,
    ) -> tuple[LaunchStatus, float] | None:
        """The headline has a tense cue; decide whether it is about a launch, and which."""
        if _ground_test_only(status, head, lead):
            return None
        soft = status is LaunchStatus.UPCOMING and not STRONG_UPCOMING.search(head.norm)
        if soft and lead_outcome is not None:
            status = lead_outcome
        if head.has_subject:
            return status, 0.9
        if self._subject(head, status):
            return status, 0.8
        if not self._subject(lead, lead_outcome or status):
            return None
        if lead_outcome is not None:
            return lead_outcome, 0.7
        if LAUNCH_WORD.search(head.norm) or status.is_outcome:
            return status, 0.7
        return None

    def _rejected_lead(self, lead: _Text) -> bool:
        """In a summary, a negative word only counts when it comes before the launch news."""
        if not self._rejected(lead, strong=False):
            return False
        cue = _first_cue(lead.norm)
        neg = NEGATIVE_HARD.search(lead.norm) or NEGATIVE_SOFT.search(lead.norm)
        return cue is None or neg is None or neg.start() < cue

    def _subject(self, text: _Text, status: LaunchStatus) -> bool:
        """Something launches here: a vehicle or mission, or a provider/site doing a launch."""
        if text.has_subject:
            return True
        if status is LaunchStatus.LAUNCHED and CREW_LAUNCH.search(text.norm):
            return True
        if not any(h.kind == "site" or h.name in self.providers for h in text.hits):
            return False
        return status.is_outcome or bool(LAUNCH_NOUN.search(text.norm))

    def _rejected(self, text: _Text, *, strong: bool) -> bool:
        """Hard negatives always reject; after-launch ones unless the launch is the news."""
        if NEGATIVE_HARD.search(text.norm) and not _coverage(text.norm):
            return True
        if _ground_test_failure(text.norm):
            return True
        if PRODUCT.search(text.norm) and not text.has_subject:
            return True
        if PRODUCT.search(text.norm) and not _coverage(text.norm) and not text.vehicles:
            return True
        if len(text.vehicles) >= 2 and _roundup(text):
            return True
        if strong:
            return False
        deploys = _vehicle_deploys(text.norm, text.vehicle_ends)
        return any(
            deploys is None or not deploys.start() <= m.start() < deploys.end()
            for m in NEGATIVE_SOFT.finditer(text.norm)
        )

    # ------------------------------------------------------------------ entities
    def _mention(
        self,
        status: LaunchStatus,
        confidence: float,
        head: _Text,
        lead: _Text,
        published: datetime | None,
    ) -> LaunchMention:
        mission_hit = _pick_mission(head, lead)
        mission = mission_hit.name if mission_hit else _flight_name(head, lead)
        series = mission_hit.series if mission_hit else None
        vehicle = _pick_vehicle(head, lead, series.vehicle if series else None)
        site = self._pick_site(head, lead, series.site if series else None, vehicle)
        agencies = self._agencies(head, lead, vehicle, series.agencies if series else ())
        crewed = _crewed(
            head, lead, series.crewed if series else None, self._vehicle_crewed(vehicle)
        )
        when = launch_time(head.norm, lead.norm, published, status)
        anchor = when or published
        day = anchor.date().isoformat() if anchor else None
        generic = series.generic if series else True
        # A numbered series flies on one vehicle: key on that, so "Soyuz" and "Soyuz-2.1a"
        # reports of Soyuz MS-29 land on the same event.
        key_vehicle = series.vehicle if series and series.vehicle and not generic else vehicle
        key = event_key(key_vehicle, mission, generic, day)
        return LaunchMention(
            status=status,
            vehicle=vehicle,
            mission=mission,
            site=site,
            crewed=crewed,
            agencies=agencies,
            launch_time=when,
            event_key=key,
            confidence=confidence,
        )

    def _pick_site(
        self, head: _Text, lead: _Text, series_site: str | None, vehicle: str | None
    ) -> str | None:
        named = best_site(head.hits) or best_site(lead.hits)
        if named:
            return named
        if series_site:
            return series_site
        info = self.kb.vehicle_info.get(vehicle) if vehicle else None
        return info.site if info else None

    def _agencies(
        self, head: _Text, lead: _Text, vehicle: str | None, series_agencies: tuple[str, ...]
    ) -> tuple[str, ...]:
        info = self.kb.vehicle_info.get(vehicle) if vehicle else None
        named = [h.name for h in (*head.hits, *lead.hits) if h.kind == "agency"]
        provider = [info.provider] if info and info.provider else []
        return tuple(_dedup([*provider, *series_agencies, *named]))

    def _vehicle_crewed(self, vehicle: str | None) -> bool | None:
        info = self.kb.vehicle_info.get(vehicle) if vehicle else None
        return info.crewed if info else None


def _inside_mission(hit: Hit, missions: tuple[MissionHit, ...]) -> bool:
    """A vehicle word inside a mission name ("Soyuz" in "Soyuz MS-28") is not the rocket."""
    return hit.kind == "vehicle" and any(
        m.start <= hit.start and hit.end <= m.end and m.series.vehicle for m in missions
    )


def _coverage(norm: str) -> bool:
    """Explicit coverage of one launch outranks the background words around it."""
    return bool(re.search(r"(?<![a-z])(?:live coverage|watch live|sets? coverage for)", norm))


def _strong_head(norm: str) -> bool:
    """The headline's news is the launch itself (so docking/landing words are secondary)."""
    if _coverage(norm):
        return True
    launch = re.search(
        r"(?<![a-z])(?:launch(?:es|ed)?|lifts? off|liftoff|blasts? off)(?![a-z])", norm
    )
    soft = NEGATIVE_SOFT.search(norm)
    return bool(launch and soft and launch.start() < soft.start())


def _vehicle_rocket(start: int, vehicle_ends: frozenset[int]) -> bool:
    """The word at ``start`` follows a named vehicle, directly or as "<vehicle> rocket"."""
    return start - 1 in vehicle_ends or start - len(" rocket ") in vehicle_ends


def _status_of(norm: str, vehicle_ends: frozenset[int] = frozenset()) -> LaunchStatus | None:
    """Tense and aspect of one field: failed > launched > scrubbed > upcoming.

    ``vehicle_ends`` (where named vehicles end) lets a named rocket stand in for the word
    "launch": "PSLV fails to reach orbit", "Electron deploys seven satellites".
    """
    failed = FAILED.search(norm)
    if failed and (
        LAUNCH_WORD.search(norm)
        or ORBIT_WORD.search(norm)
        or vehicle_ends
        or _launched_match(norm, vehicle_ends)
    ):
        return LaunchStatus.FAILED
    launched = _launched_match(norm, vehicle_ends) or _vehicle_deploys(norm, vehicle_ends)
    upcoming = UPCOMING.search(norm)
    scrub = _scrub_match(norm)
    strong = STRONG_UPCOMING.search(norm)
    nounish = launched is not None and NOUNISH.fullmatch(launched.group(0)) is not None
    preview = strong is not None and launched is not None and strong.start() < launched.start()
    if launched and not preview and not (nounish and upcoming):
        return LaunchStatus.LAUNCHED
    if scrub and not _coverage(norm):
        return LaunchStatus.SCRUBBED
    if upcoming or launched:
        return LaunchStatus.UPCOMING
    if scrub:
        return LaunchStatus.SCRUBBED
    return None


def _vehicle_deploys(norm: str, vehicle_ends: frozenset[int]) -> re.Match[str] | None:
    """ "<vehicle> deploys N satellites": a rocket deploying payloads reports its launch."""
    if not vehicle_ends:
        return None
    m = VEHICLE_DEPLOYS.search(norm)
    return m if m and min(vehicle_ends) <= m.start() else None


def _first_cue(norm: str) -> int | None:
    """Where the first tense cue of a text starts (None when it has none)."""
    found = (FAILED.search(norm), _launched_match(norm), _scrub_match(norm), UPCOMING.search(norm))
    starts = [m.start() for m in found if m is not None]
    return min(starts) if starts else None


def _ground_test_only(status: LaunchStatus, head: _Text, lead: _Text) -> bool:
    """A fuelling test / static fire not tied to a named flight is not a launch story."""
    return (
        status is LaunchStatus.UPCOMING
        and bool(GROUND_TEST.search(head.norm))
        and not (_specific(head) or _specific(lead))
    )


def _ground_test_failure(norm: str) -> bool:
    """A vehicle failing in a ground test (no launch attempt) is not a launch story."""
    return bool(GROUND_TEST.search(norm) and FAILED.search(norm) and not LAUNCH_NOUN.search(norm))


def _roundup(text: _Text) -> bool:
    """Several launch vehicles given equal weight: a round-up, not one launch."""
    return bool(re.search(r",|;| and | as | while ", text.norm))


def _specific(text: _Text) -> bool:
    return any(not m.series.generic for m in text.missions)


def _pick_mission(head: _Text, lead: _Text) -> MissionHit | None:
    """Prefer a numbered mission (headline first), else a recurring family name."""
    for hits in (head.missions, lead.missions):
        for m in hits:
            if not m.series.generic:
                generic_head = [g for g in head.missions if g.series.generic]
                if hits is lead.missions and generic_head and not _same_family(generic_head[0], m):
                    return generic_head[0]
                return m
    for hits in (head.missions, lead.missions):
        if hits:
            return hits[0]
    return None


def _same_family(generic: MissionHit, specific: MissionHit) -> bool:
    return specific.name.casefold().startswith(generic.name.casefold()[:5])


def _flight_name(head: _Text, lead: _Text) -> str | None:
    """ "Flight 12" or "third flight of X" when no mission is named (Starship, new rockets)."""
    for text in (head.norm, lead.norm):
        m = FLIGHT_NUMBER.search(text)
        if m:
            return f"Flight {int(m.group(1))}"
        o = ORDINAL.search(text)
        if o:
            word = o.group(1)
            number = ORDINAL_WORDS.get(word) or int(re.sub(r"\D", "", word))
            return f"Flight {number}"
    return None


def _pick_vehicle(head: _Text, lead: _Text, series_vehicle: str | None) -> str | None:
    for text in (head, lead):
        if text.vehicles:
            return text.vehicles[0]
    return series_vehicle


def _crewed(head: _Text, lead: _Text, series: bool | None, vehicle: bool | None) -> bool | None:
    if series is not None:
        return series
    if vehicle is not None:
        return vehicle
    text = f"{head.norm} {lead.norm}"
    if CREWED.search(text):
        return True
    if UNCREWED.search(text):
        return False
    return None


@cache
def default_matcher() -> LaunchMatcher:
    """One shared matcher over the shipped knowledge base (for the CLI)."""
    return LaunchMatcher()
