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

from datetime import datetime
from functools import cache

from handlers.domain import Article, LaunchMention, LaunchStatus
from handlers.matching.cues import (
    ACTOR_LAUNCH,
    COVERAGE_AFTER,
    CREW_LAUNCH,
    FAILED,
    GROUND_TEST,
    HARDWARE_MOVES,
    LAUNCH_NOUN,
    LAUNCH_WORD,
    NEGATIVE_HARD,
    NEGATIVE_SOFT,
    PAYLOAD_HEAD,
    PRODUCT,
    PROVIDER_TO_LAUNCH,
    RESUME_FLIGHTS,
    STRONG_UPCOMING,
    UPCOMING,
    find,
)
from handlers.matching.dates import dated, launch_time, too_far
from handlers.matching.detector import LEAD_WORDS, Detector, Rules, default_detector, grams
from handlers.matching.entities import (
    flight_name,
    inside_mission,
    pick_mission,
    pick_vehicle,
    read_crewed,
)
from handlers.matching.knowledge import (
    KnowledgeBase,
    best_site,
    default_knowledge,
    normalize,
)
from handlers.matching.status import (
    actor_status,
    first_cue,
    ground_test_failure,
    ground_test_only,
    is_coverage,
    is_roundup,
    is_specific,
    launched_match,
    scrub_match,
    status_of,
    strong_head,
    vehicle_deploys,
)
from handlers.matching.text import (
    ScannedText,
    clean_summary,
    dedup,
    event_key,
    lead_of,
)

__all__ = ["LaunchMatcher", "default_matcher", "event_key"]

#: Rule confidence at which the rules are sure: a launch cue and a named subject in the
#: headline. The detector never overrules such a verdict.
SURE = 0.9

#: A vehicle whose last flight came before this year no longer makes its provider a
#: launch provider ("ESA launches an AI project" is not a launch since Ariane 1 retired).
ACTIVE_SINCE = 2015


# --------------------------------------------------------------------------- helpers
# --------------------------------------------------------------------------- matcher
class LaunchMatcher:
    """Reads one news item and returns a :class:`LaunchMention` for launch stories."""

    def __init__(
        self, knowledge: KnowledgeBase | None = None, detector: Detector | None = None
    ) -> None:
        self.kb = knowledge if knowledge is not None else default_knowledge()
        #: The learned judge of "launch story or not"; None: the rules decide alone.
        self.detector = detector
        # "<provider> launches ..." reads as a launch only for today's launch providers.
        self.providers = self.kb.active_providers(since=ACTIVE_SINCE)
        # Agencies whose name alone does not single out a launch: providers of a rocket
        # flying several times a week ("SpaceX launches 13 satellites" could be any of this
        # week's flights) and customers of many rockets (NASA).
        self.vague_agencies = self.kb.customers() | frozenset(
            v.provider for v in self.kb.vehicle_info.values() if v.frequent and v.provider
        )

    def match_article(self, article: Article) -> LaunchMention | None:
        """Match an :class:`Article` (uses its ``published`` as the date reference)."""
        return self.match(article.title, article.summary, article.published)

    def match(
        self, title: str, summary: str = "", published: datetime | None = None
    ) -> LaunchMention | None:
        """Return what the item says about one launch, or None when it is not a launch story."""
        head = self._read(title)
        lead = self._read(lead_of(clean_summary(summary)))
        verdict = self._rules(head, lead, published)
        if self.detector is not None:
            verdict = self._judged(verdict, head, lead, published)
        if verdict is None:
            return None
        status, confidence = verdict
        return self._mention(status, confidence, head, lead, published)

    def named_launch(
        self,
        *,
        vehicle: str | None,
        mission: str | None,
        place: str | None,
        provider: str | None,
        status: LaunchStatus,
        stated: tuple[datetime, bool] | None,
        crewed: bool | None = None,
    ) -> LaunchMention:
        """A launch given by its names (a launch schedule's record) rather than by a story.

        The names are read with the same knowledge base as the news ("Falcon 9 Block 5" is
        Falcon 9, "Starlink Group 12-3" is Starlink 12-3), so the event key is the one the
        news about that launch gets. ``stated``: the launch time and whether it is a day only.
        """
        head = self._read(" ".join(name for name in (vehicle, mission) if name))
        lead = self._read(" ".join(name for name in (place, provider) if name))
        return self._mention(status, 1.0, head, lead, None, stated=stated, crewed=crewed)

    def featurize(
        self, title: str, summary: str = "", published: datetime | None = None
    ) -> list[str]:
        """The detector's features for one item, as the rules alone read it (for training)."""
        head = self._read(title)
        lead = self._read(lead_of(clean_summary(summary)))
        return self.features(head, lead, self._rules(head, lead, published), published)

    def _rules(
        self, head: ScannedText, lead: ScannedText, published: datetime | None
    ) -> tuple[LaunchStatus, float] | None:
        named = head.hits or head.missions or lead.hits or lead.missions
        if not named and not find(CREW_LAUNCH, head.norm) and not find(ACTOR_LAUNCH, head.norm):
            return None
        return self._classify(head, lead, published)

    # ------------------------------------------------------------------ learned judge
    def _judged(
        self,
        verdict: tuple[LaunchStatus, float] | None,
        head: ScannedText,
        lead: ScannedText,
        published: datetime | None,
    ) -> tuple[LaunchStatus, float] | None:
        """The detector decides "launch story or not"; the rules still read the status."""
        assert self.detector is not None
        rules = self.rules_said(verdict, head, published)
        if rules in ("sure", "excluded"):
            return verdict
        features = self.features(head, lead, verdict, published, rules)
        p = self.detector.probability(features)
        if not self.detector.decide(rules, p):
            return None
        if verdict is not None:
            return verdict
        status = status_of(head.norm, head.vehicle_ends) or status_of(lead.norm, lead.vehicle_ends)
        if status is None:
            happened = self.detector.happened(features)
            status = LaunchStatus.LAUNCHED if happened else LaunchStatus.UPCOMING
        return status, round(p, 2)

    def rules_said(
        self,
        verdict: tuple[LaunchStatus, float] | None,
        head: ScannedText,
        published: datetime | None,
    ) -> Rules:
        """How firmly the rules decided: sure (a launch cue and a named subject in the
        headline), accepted, rejected for want of evidence, or excluded by name (business,
        missiles, anniversaries, investigations, ground tests, products, round-ups, landing
        and docking, launches months away)."""
        if verdict is not None:
            return "sure" if verdict[1] >= SURE else "accept"
        if self._rejected(head, strong=strong_head(head.norm)) or too_far(head.norm, published):
            return "excluded"
        return "reject"

    def features(
        self,
        head: ScannedText,
        lead: ScannedText,
        verdict: tuple[LaunchStatus, float] | None,
        published: datetime | None,
        rules: Rules | None = None,
    ) -> list[str]:
        """What the detector weighs: words, and what the rules read in each field."""
        if rules is None:
            rules = self.rules_said(verdict, head, published)
        feats = [f"t:{g}" for g in grams(head.norm)]
        feats.append(f"rule:{verdict[0].value if verdict else 'none'}")
        feats.append(f"rules:{rules}")
        feats.extend(self._readings("h", head))
        if lead.norm:
            feats.append("summary")
            feats.extend(f"s:{g}" for g in grams(lead.norm, pairs=False, limit=LEAD_WORDS))
            feats.extend(self._readings("s", lead))
        if too_far(head.norm, published):
            feats.append("h:far")
        return feats

    def _readings(self, field: str, text: ScannedText) -> list[str]:
        norm = text.norm
        found = {
            "failed": find(FAILED, norm),
            "launched": launched_match(norm, text.vehicle_ends),
            "scrubbed": scrub_match(norm),
            "upcoming": find(UPCOMING, norm),
            "strong_upcoming": find(STRONG_UPCOMING, norm),
            "negative": find(NEGATIVE_HARD, norm),
            "after_launch": find(NEGATIVE_SOFT, norm),
            "ground_test": find(GROUND_TEST, norm),
            "product": find(PRODUCT, norm),
            "crew_launch": find(CREW_LAUNCH, norm),
            "actor_launch": find(ACTOR_LAUNCH, norm),
            "launch_word": find(LAUNCH_NOUN, norm),
            "payload": find(PAYLOAD_HEAD, norm),
            "coverage": is_coverage(norm),
            "vehicle": text.vehicles,
            "vehicles": len(text.vehicles) >= 2,
            "mission": text.missions,
            "numbered": any(not m.series.generic for m in text.missions),
            "agency": any(h.kind == "agency" for h in text.hits),
            "provider": any(h.name in self.providers for h in text.hits),
            "site": any(h.kind == "site" for h in text.hits),
        }
        return [f"{field}:{name}" for name, value in found.items() if value]

    # ------------------------------------------------------------------ reading
    def _read(self, text: str) -> ScannedText:
        norm = normalize(text)
        missions = tuple(self.kb.find_missions(norm))
        hits = tuple(h for h in self.kb.scan(norm) if not inside_mission(h, missions))
        return ScannedText(norm, hits, missions)

    # ------------------------------------------------------------------ status
    def _classify(
        self, head: ScannedText, lead: ScannedText, published: datetime | None
    ) -> tuple[LaunchStatus, float] | None:
        """Headline first; the summary lead settles tense or supplies the subject."""
        if self._rejected(head, strong=strong_head(head.norm)):
            return None
        verdict = self._classify_tense(head, lead)
        # A date (or slip) more than about six weeks out is schedule news, not a launch story.
        pending = (LaunchStatus.UPCOMING, LaunchStatus.SCRUBBED)
        if verdict and verdict[0] in pending and too_far(head.norm, published):
            return None
        return verdict

    def _classify_tense(
        self, head: ScannedText, lead: ScannedText
    ) -> tuple[LaunchStatus, float] | None:
        """Status from the headline's cues, else from the summary lead's."""
        head_status = status_of(head.norm, head.vehicle_ends) or actor_status(head.norm)
        lead_ok = not self._rejected_lead(lead)
        lead_status = status_of(lead.norm, lead.vehicle_ends) if lead_ok else None
        lead_outcome = lead_status if lead_status and lead_status.is_outcome else None
        if head_status is not None:
            return self._from_headline(head_status, head, lead, lead_outcome)
        if not lead_ok or lead_status is None or not self._subject(lead, lead_status):
            if is_specific(head) and find(LAUNCH_NOUN, head.norm) and lead_status is None:
                return LaunchStatus.UPCOMING, 0.5
            return None
        named = is_specific(head) or bool(head.vehicles)
        if head.has_subject and find(LAUNCH_WORD, head.norm):
            return lead_status, 0.6
        if named and lead_status.is_outcome:
            return lead_status, 0.5
        if lead_status is LaunchStatus.LAUNCHED and find(PAYLOAD_HEAD, head.norm) and lead.vehicles:
            return lead_status, 0.5
        return None

    def _from_headline(
        self,
        status: LaunchStatus,
        head: ScannedText,
        lead: ScannedText,
        lead_outcome: LaunchStatus | None,
    ) -> tuple[LaunchStatus, float] | None:
        """The headline has a tense cue; decide whether it is about a launch, and which."""
        if ground_test_only(status, head, lead):
            return None
        soft = status is LaunchStatus.UPCOMING and not find(STRONG_UPCOMING, head.norm)
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
        if find(LAUNCH_WORD, head.norm) or status.is_outcome:
            return status, 0.7
        return None

    def _rejected_lead(self, lead: ScannedText) -> bool:
        """In a summary, a negative word only counts when it comes before the launch news."""
        if not self._rejected(lead, strong=False):
            return False
        cue = first_cue(lead.norm)
        neg = find(NEGATIVE_HARD, lead.norm) or find(NEGATIVE_SOFT, lead.norm)
        return cue is None or neg is None or neg.start() < cue

    def _subject(self, text: ScannedText, status: LaunchStatus) -> bool:
        """Something launches here: a vehicle or mission, or a provider/site doing a launch."""
        if text.has_subject:
            return True
        if status is LaunchStatus.LAUNCHED and find(CREW_LAUNCH, text.norm):
            return True
        if find(ACTOR_LAUNCH, text.norm) and (status.is_outcome or dated(text.norm)):
            return True
        if not any(h.kind == "site" or h.name in self.providers for h in text.hits):
            return False
        if status.is_outcome:
            return True
        # "<provider> to launch <payload>" with no day is a contract, not a launch preview.
        undated = (
            status is LaunchStatus.UPCOMING and not dated(text.norm) and not is_coverage(text.norm)
        )
        contract = undated and find(PROVIDER_TO_LAUNCH, text.norm) is not None
        return bool(find(LAUNCH_NOUN, text.norm)) and not contract

    def _rejected(self, text: ScannedText, *, strong: bool) -> bool:
        """Hard negatives always reject; after-launch ones unless the launch is the news."""
        if find(NEGATIVE_HARD, text.norm) and not is_coverage(text.norm):
            return True
        if find(COVERAGE_AFTER, text.norm):
            return True
        if find(HARDWARE_MOVES, text.norm) and not dated(text.norm):
            return True
        if find(RESUME_FLIGHTS, text.norm) and not is_specific(text):
            return True
        if ground_test_failure(text.norm):
            return True
        if find(PRODUCT, text.norm) and not text.has_subject:
            return True
        if find(PRODUCT, text.norm) and not is_coverage(text.norm) and not text.vehicles:
            return True
        if len(text.vehicles) >= 2 and is_roundup(text):
            return True
        if strong:
            return False
        deploys = vehicle_deploys(text.norm, text.vehicle_ends)
        return any(
            deploys is None or not deploys.start() <= m.start() < deploys.end()
            for m in NEGATIVE_SOFT.finditer(text.norm)
        )

    # ------------------------------------------------------------------ entities
    def _mention(
        self,
        status: LaunchStatus,
        confidence: float,
        head: ScannedText,
        lead: ScannedText,
        published: datetime | None,
        *,
        stated: tuple[datetime, bool] | None = None,
        crewed: bool | None = None,
    ) -> LaunchMention:
        mission_hit = pick_mission(head, lead)
        series = mission_hit.series if mission_hit else None
        vehicle = pick_vehicle(head, lead, series.vehicle if series else None)
        mission = (
            mission_hit.name
            if mission_hit
            else flight_name(head, lead, ordinals=vehicle is not None)
        )
        site = self._pick_site(head, lead, series.site if series else None, vehicle)
        agencies = self._agencies(head, lead, vehicle, series.agencies if series else ())
        if crewed is None:
            crewed = read_crewed(
                head, lead, series.crewed if series else None, self._vehicle_crewed(vehicle)
            )
        if stated is None:
            stated = launch_time(head.norm, lead.norm, published, status)
        when, day_only = stated if stated else (None, False)
        anchor = when or published
        day = anchor.date().isoformat() if anchor else None
        generic = series.generic if series else True
        # A numbered series flies on one vehicle: key on that, so "Soyuz" and "Soyuz-2.1a"
        # reports of Soyuz MS-29 land on the same event.
        key_vehicle = series.vehicle if series and series.vehicle and not generic else vehicle
        key_mission = series.family if series and generic and series.family else mission
        key = event_key(key_vehicle, key_mission, generic, day)
        return LaunchMention(
            status=status,
            vehicle=vehicle,
            mission=mission,
            site=site,
            crewed=crewed,
            agencies=agencies,
            launch_time=when,
            launch_day_only=day_only,
            event_key=key,
            confidence=confidence,
            kin=series is not None and not series.frequent,
            vague_joins=self._joins_vaguely(key_vehicle, agencies),
        )

    def _pick_site(
        self, head: ScannedText, lead: ScannedText, series_site: str | None, vehicle: str | None
    ) -> str | None:
        named = best_site(head.hits) or best_site(lead.hits)
        if named:
            return named
        if series_site:
            return series_site
        info = self.kb.vehicle_info.get(vehicle) if vehicle else None
        return info.site if info else None

    def _agencies(
        self,
        head: ScannedText,
        lead: ScannedText,
        vehicle: str | None,
        series_agencies: tuple[str, ...],
    ) -> tuple[str, ...]:
        info = self.kb.vehicle_info.get(vehicle) if vehicle else None
        named = [h.name for h in (*head.hits, *lead.hits) if h.kind == "agency"]
        provider = [info.provider] if info and info.provider else []
        return tuple(dedup([*provider, *series_agencies, *named]))

    def _joins_vaguely(self, vehicle: str | None, agencies: tuple[str, ...]) -> bool:
        """Whether a report this vague can mean only one live launch of its rocket (or, naming
        no rocket, of its provider): not for a rocket or provider flying several times a week."""
        if vehicle is None:
            return not any(a in self.vague_agencies for a in agencies)
        info = self.kb.vehicle_info.get(vehicle)
        return info is None or not info.frequent

    def _vehicle_crewed(self, vehicle: str | None) -> bool | None:
        info = self.kb.vehicle_info.get(vehicle) if vehicle else None
        return info.crewed if info else None


@cache
def default_matcher() -> LaunchMatcher:
    """One shared matcher over the shipped knowledge base and detector."""
    return LaunchMatcher(detector=default_detector())
