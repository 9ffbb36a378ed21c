"""The language of launch stories: word patterns written from the product rubric.

Each pattern matches normalised (lower-case, punctuation-light) text; the matcher
(:mod:`handlers.matching.matcher`) decides with them whether a headline reports a launch
(*launched*, *failed*), a *scrub* or slip, an *upcoming* launch, or one of the classes the
rubric excludes on purpose (contracts, statistics, ground tests, products, round-ups ...).
Add a cue here, with a test in ``tests/handlers/test_matcher.py`` and a look at every set of
``python -m bench.matcher_eval``.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "ACTOR_LAUNCH",
    "ACTOR_LAUNCHED",
    "BACKGROUND",
    "COVERAGE_AFTER",
    "CREWED",
    "CREW_LAUNCH",
    "FAILED",
    "FLIGHT_NUMBER",
    "GROUND_TEST",
    "HARDWARE_MOVES",
    "LAUNCHED",
    "LAUNCH_NOUN",
    "LAUNCH_WORD",
    "NEGATIVE_HARD",
    "NEGATIVE_SOFT",
    "NOUNISH",
    "ORBIT_WORD",
    "ORDINAL",
    "ORDINAL_WORDS",
    "PAYLOAD_HEAD",
    "PRE_EVENT",
    "PRODUCT",
    "PROVIDER_TO_LAUNCH",
    "RESUME_FLIGHTS",
    "SCRUBBED",
    "STRONG_UPCOMING",
    "UNCREWED",
    "UPCOMING",
    "VEHICLE_DEPLOYS",
    "find",
]


def _rx(*alternatives: str) -> re.Pattern[str]:
    """Compile word-bounded alternatives written for normalised (lower-case) text."""
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + r")(?![a-z0-9])")


@lru_cache(maxsize=4096)
def find(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """``pattern.search(text)``, remembered: the rules and then the detector's readings ask
    the same questions of one headline (a third of the matcher's regex work, measured)."""
    return pattern.search(text)


# --------------------------------------------------------------------------- cue patterns
# Written from the rubric's wording; they run on normalised text (hyphens are spaces).
FAILED = _rx(
    r"fail(?:s|ed)?(?! to (?:raise|deploy|open|separate from))",
    r"failure",
    r"launch anomaly",
    r"anomaly (?:during|on|after) (?:launch|ascent|liftoff)",
    r"(?:declared )?lost (?:after|following|during|shortly after) (?:launch|liftoff)",
    r"declared lost",
    r"explodes?",
    r"exploded",
    r"blows up",
    r"did not reach orbit",
    r"short of orbit",
    r"partial failure",
    r"off nominal",
    r"crash(?:es|ed)? (?:(?:shortly|seconds|minutes) )?(?:after|during) (?:launch|liftoff)",
    r"suffers? (?:a |an )?(?:\S+ ){0,3}?(?:anomaly|failure|mishap|malfunction)",
    r"(?:stage|engine|ascent|flight) (?:anomaly|malfunction|mishap)",
    r"(?:wrong|incorrect|unintended|lower than (?:planned|intended|expected)) orbit",
    r"(?:satellites?|payloads?|cubesats?|spacecraft|rocket|vehicle) (?:was |were |is |are )?lost",
    r"lost (?:seconds|minutes|moments) (?:after|into)",
)
LAUNCHED = _rx(
    r"launches",
    r"launched",
    r"lifts? off",
    r"lifted off",
    r"liftoff",
    r"lift off",
    r"blast(?:s|ed)? off",
    r"rockets? [^.;:]{0,60}(?:into|to) (?:orbit|space)",
    r"carr(?:y|ies|ied) [^.;:]{0,40}(?:to|into) (?:orbit|space|the edge of space)",
    r"takes? [^.;:]{0,40}to (?:orbit|space|the edge of space)",
    r"heads? (?:to|for|into) (?:orbit|space)",
    r"reach(?:es|ed)? (?:space|the edge of space)",
    r"launch success",
    r"soars?",
    r"lofts?",
    r"lofted",
    r"sends? [^.;:]{0,60}(?:to|into|toward) "
    r"(?:orbit|space|the (?:space )?station|the iss|tiangong)",
    r"sent [^.;:]{0,60}(?:to|into) (?:orbit|space)",
    r"puts? [^.;:]{0,40}(?:in|into) orbit",
    r"plac(?:es|ed) [^.;:]{0,40}(?:in|into) orbit",
    r"deliver(?:s|ed) [^.;:]{0,40}(?:to|into) orbit",
    r"returns to flight",
    r"returns with",
    r"(?:carri(?:es|ed)|conducts?|conducted)(?: out)? (?:a |an |its )?(?:\S+ ){0,3}?"
    r"(?:flight test|test flight|launch)",
    r"returned to flight",
    r"debuts",
    r"debuted",
    r"maiden (?:launch|flight)",
    r"(?:mission|journey|voyage)(?: [^.;:]{0,30})? begins",
    r"begins? (?:its )?(?:journey|mission) to",
    r"successful(?:ly)? launch(?:es|ed)?",
    r"completes? (?![^.;:]{0,40}(?:day|week|month|year|stay|expedition))[^.;:]{0,40}mission",
    r"reach(?:es|ed) orbit",
    r"(?:astronauts|crew) (?:headed|head|heads|on (?:their|the) way) to",
    r"takes? flight",
    r"flies",
    r"flew",
    r"(?:launch|liftoff|flight) (?:success|successful)",
    r"(?:full )?replay",
    r"is launched",
    r"was launched",
    r"were launched",
    r"ace[sd]?",
    r"showcases [^.;:]{0,20}(?:flight|launch)",
    # paraphrases of a launch that has happened
    r"heads? (?:to|for|toward) (?:the )?(?:international space station|space station|iss|"
    r"tiangong)",
    r"completes? (?:(?!for |ahead |before )\S+ ){0,3}?(?:spaceflight|suborbital flight|"
    r"launch)(?! (?:readiness|review|campaign))",
    r"makes? (?:its |their |a |an )?(?:\S+ ){0,3}?(?:spaceflight|suborbital flight)",
    r"(?:completes?|conducts?|conducted|completed) (?:its |their |a |an )?(?:\S+ ){0,3}?"
    r"(?:commercial|suborbital|crewed|space|tourist|civilian|private|orbital|rocket)"
    r"(?: \S+){0,2}? flight(?! (?:readiness|review|campaign|test of|tests of))",
    # other languages (news feeds are not all English)
    r"lanz(?:a|ó|o|an|aron)",
    r"despeg(?:a|ó|o|an)",
    r"(?:a )?lanc(?:e|é|ée|ent)",
    r"décoll(?:e|é|ent)",
    r"lanci(?:a|ato|ata)",
    r"lanç(?:a|ou)",
    r"(?:ge)?startet",
)
SCRUBBED = _rx(
    r"scrub(?:s|bed)?",
    r"delay(?:s|ed|ing)?",
    r"slip(?:s|ped|ping)?",
    r"postpone(?:s|d|ment)?",
    r"stands? down",
    r"stood down",
    r"standing down",
    r"roll(?:s|ed|ing)? (?:\w+ )?(?:\w+ )?back",
    r"rollback",
    r"hauled back",
    r"roll(?:s|ed)? [^.;:]{0,30}off (?:the |its )?(?:launch ?)?pad",
    r"on hold",
    r"pushed (?:back|to|into)",
    r"bump(?:s|ed)? [^.;:]{0,30}(?:to|into)",
    r"(?:will )?wait until",
    r"called off",
    r"reschedul(?:e|es|ed|ing)",
    r"retarget(?:s|ed|ing)?",
    r"abort(?:s|ed)?",
    r"(?:launch )?attempt (?:is |was )?(?:called off|scrubbed)",
)
# A scrub word introduced by these is background ("to launch after weather delays").
BACKGROUND = re.compile(
    r"(?:after|following|despite|amid|from|since|earlier|previous|multiple)\s+(?:\S+\s+){0,2}$"
)
UPCOMING = _rx(
    r"to (?:launch|fly|loft|deliver|carry|send)",
    r"to lift off",
    r"set (?:to|for)",
    r"slated",
    r"scheduled",
    r"target(?:s|ing|ed)? (?:a |an |the |launch (?:on|for) |no earlier than )?"
    r"(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)"
    r"(?:uary|ruary|ch|il|e|y|ust|t|tember|ember|ober|day|sday|nesday|rsday|urday)?(?![a-z])"
    r"|early|mid|late|\d)",
    r"target date",
    r"sets? (?:a |an |the )?(?:\S+ ){0,3}?date",
    r"no earlier than",
    r"live coverage",
    r"watch live",
    r"webcast",
    r"roll(?:s|ed|ing)? out",
    r"rollout",
    r"roll(?:s|ed|ing)? (?:\w+ )?(?:\w+ )?(?:to|back to) (?:the )?(?:launch ?)?pad",
    r"returns? to (?:the )?(?:launch ?)?pad",
    r"at (?:the )?launch ?pad",
    r"on (?:the )?(?:launch ?)?pad",
    r"(?:launch ?)?pad flow",
    r"ready (?:for|to) (?:launch|liftoff|fly|flight|go)",
    r"ready to go",
    r"go for launch",
    r"poised",
    r"gears? up",
    r"prepar(?:es|ing|e) (?:\S+ ){0,4}?(?:for|to)",
    r"ahead of",
    r"wet dress(?: rehearsal)?",
    r"wdr",
    r"rehearsal",
    r"fu(?:e)?ling test",
    r"static fire",
    r"test fires?",
    r"countdown",
    r"sets? coverage",
    r"invites? media",
    r"media accreditation",
    r"launch date",
    r"launch window",
    r"as soon as",
    r"could launch",
    r"will launch",
    r"plans? (?:a |an |the |its )?(?:\S+ ){0,2}?launch",
    r"planning (?:a |an |the |its )?(?:\S+ ){0,2}?launch",
    r"eyes (?:a |an |the )?(?:\S+ ){0,2}?(?:launch|liftoff|flight)",
    r"eyes (?:early|mid|late) \w+",
    r"seeks?",
    r"attempts?",
    r"another shot",
    r"on (?:track|schedule) for",
    r"still on track",
    r"bound for",
    r"a week from now",
    r"tonight",
    r"tomorrow",
    r"mission overview",
    r"(?:astronauts|crew) (?:arrive|arrives|ready)",
    r"looking good",
    r"weather (?:forecast|outlook)",
    r"launch preview",
    r"launching",
    r"next (?:\S+ )?launch",
    r"lanzamiento",
    r"lancement",
    r"lancio",
    r"lançamento",
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* (?:\d{1,2} )?launch",
)
STRONG_UPCOMING = _rx(
    r"live coverage",
    r"watch live",
    r"to (?:launch|fly|loft|deliver|carry|send)",
    r"set (?:to|for)",
    r"scheduled",
    r"slated",
    r"target(?:s|ing|ed)?",
    r"no earlier than",
    r"countdown",
    r"roll(?:s|ed|ing)? out",
    r"rollout",
    r"sets? coverage",
    r"invites? media",
    r"wet dress",
    r"ready (?:for|to) launch",
    r"will launch",
    r"tonight",
    r"tomorrow",
)
# "called off before liftoff", "ahead of launch": the launch has not happened.
PRE_EVENT = re.compile(r"(?<![a-z])(?:before|ahead of|until|prior to|awaiting|ahead)\s+$")
ORBIT_WORD = _rx(r"orbit", r"ascent", r"stage", r"space")
VEHICLE_DEPLOYS = _rx(
    r"deploy(?:s|ed)? (?:\S+ ){0,4}?(?:satellites?|payloads?|cubesats?|spacecraft|probes?)",
    r"deploy(?:s|ed)? [^.;:]{0,60}after (?:launch|liftoff|lift off)",
)
# A crew launch told through its people: "Four astronauts headed to the Moon".
CREW_LAUNCH = _rx(
    r"(?:astronauts|cosmonauts|taikonauts|crew|crewmates) (?:\S+ )?"
    r"(?:head(?:s|ed)?|on (?:their|the) way|blast(?:s|ed)? off|launch(?:es|ed)?|"
    r"lift(?:s|ed)? off|rocket(?:s|ed)?) (?:to|for|toward|into) "
    r"(?:the )?(?:moon|orbit|space|iss|international space station|space station|station|tiangong)"
)
# A launch told through who launches what, with no rocket named: "China launches first
# radar satellite", "North Korea fails to launch spy satellite", "Rocket firm sends 26
# satellites to orbit". The actor is a country, a military or a company; the object a payload.
_ACTOR = (
    r"(?:china|chinese|japan|japanese|india|indian|russia|russian|(?:north |south )?korean?|"
    r"iran|iranian|israel|israeli|europe|european|u\.?s\.?|america|american|united states|"
    r"u\.?k\.?|britain|british|france|french|germany|german|italy|italian|spain|spanish|"
    r"australia|australian|new zealand|canada|canadian|brazil|brazilian|pakistan|turkey|"
    r"turkish|uae|emirati|vietnam|indonesia|ukraine|kazakhstan|taiwan|argentina|norway|"
    r"sweden|military|space force|army|navy|air force|pentagon|firm|company|startup|"
    r"start up|operator|agency)"
)
_PAYLOAD = (
    r"(?:satellites?|sats?|spacecraft|probes?|landers?|rovers?|orbiters?|observatory|"
    r"telescope|cubesats?|payloads?|capsule|space station module|station module|"
    r"(?:moon|lunar|mars) mission)"
)
ACTOR_LAUNCH = re.compile(
    rf"(?<![a-z0-9]){_ACTOR} (?:\S+ ){{0,3}}?"
    r"(?:(?P<verb>launch(?:es|ed)?|fails? to launch|failed to launch|to launch|sends?|sent|"
    r"lofts?|lofted|puts?|places?|placed|orbits?|orbited) (?:\S+ ){0,7}?"
    rf"{_PAYLOAD}|{_PAYLOAD} launch(?:es)?)(?![a-z0-9])"
)
# The verbs of ACTOR_LAUNCH that report a launch that has happened.
ACTOR_LAUNCHED = re.compile(r"launch(?:es|ed)|sends?|sent|lofts?|lofted|puts?|plac|orbit")
NOUNISH = re.compile(r"liftoff|lift off|(?:full )?replay")
LAUNCH_NOUN = _rx(
    r"launch(?:es|ed|ing)?",
    r"return to flight",
    r"liftoff",
    r"lift off",
    r"blast(?:s|ed)? off",
    # other languages
    r"lanzamiento",
    r"lancement",
    r"lancio",
    r"lançamento",
    r"запуск\w*",
    r"发射",
)
PAYLOAD_HEAD = _rx(r"satellites?", r"spacecraft", r"probe", r"payloads?", r"cubesats?")
GROUND_TEST = _rx(
    r"(?:engine|ground|stand|static) test",
    r"test stand",
    r"wet dress(?: rehearsal)?",
    r"wdr",
    r"fu(?:e)?ling test",
    r"static fire",
    r"test fires?",
    r"hot fire",
    r"rehearsal",
    r"(?:flight )?readiness firing",
    r"(?<!flight )testing",
    r"ground (?:\S+ )?tests?",
    r"(?:launch )?simulation",
    r"launch day demo",
)
# Hard negatives: the item's subject is not one launch attempt.
NEGATIVE_HARD = _rx(
    r"contracts?",
    r"buys?",
    r"bought",
    r"purchases?",
    r"orders?",
    r"books?",
    r"selects?",
    r"selected",
    r"selection",
    r"signs?",
    r"agreement",
    r"deal",
    r"wins?",
    r"awarded",
    r"raises?",
    r"funding",
    r"investment",
    r"series [a-e]",
    r"acquires?",
    r"acquisition",
    r"partnership",
    r"approves?",
    r"approval",
    r"approved",
    r"licen[cs](?:e|es|ed|ing)",
    r"permit",
    r"cadence",
    r"statistics",
    r"record year",
    r"missiles?(?! (?:warning|tracking|detection))",
    r"icbm",
    r"ballistic",
    r"investigation",
    r"investigating",
    r"investigates?",
    r"inquiry",
    r"enquiry",
    r"to blame",
    r"(?:safety|mishap) review",
    r"review board",
    r"back to back (?:\S+ )?launches",
    r"stocks?",
    r"losses",
    r"root cause",
    r"blamed",
    r"grounded",
    r"grounding",
    r"pauses",
    r"halts?",
    r"assign(?:s|ed|ment|ments)",
    r"spacewalks?",
    r"moonwalk",
    r"launch (?:preview|roundup|round up|schedule)",
    r"rocket report",
    r"this week",
    r"busy week",
    r"weekly",
    r"accords?",
    r"i am artemis",
    r"podcast",
    r"episode",
    r"webinar",
    r"job",
    r"hiring",
    r"appoints?",
    r"names? [^.;:]{0,30}(?:director|manager|administrator|chief|head)",
    r"earnings",
    r"revenue",
    r"files? for",
    r"complaint",
    r"lawsuit",
    r"paid",
    r"spent",
    r"costs?",
    r"future (?:\S+ )?missions?",
    r"cancel(?:s|ed|led)?",
    r"construction",
    r"(?:one )?step closer",
    r"moves? toward",
    r"(?:this|next) year",
    r"(?:in|by) 20\d\d",
    r"this (?:summer|spring|autumn|fall|winter)",
    r"shifts? away",
    r"rules?",
    r"regulations?",
    r"liability",
    r"legislation",
    r"regains?",
    r"(?:lost|loses|regained) contact",
    r"recap",
    r"anniversary",
    r"years? (?:since|after) (?:the )?(?:\S+ )?(?:launch|liftoff|flight)",
    r"years ago",
    r"remember(?:s|ing|ed)?",
    r"on this day",
    r"looking back",
    r"milestones",
    r"visits?",
    r"times (?:a|per) year",
    r"roll(?:s|ed|ing)? out [^.;:]{0,30}(?:stage|hardware|engine|segment|tank)",
    r"rollout (?:of|event)",
)
# After-launch operations; overridden when the headline's news is the launch itself.
NEGATIVE_SOFT = _rx(
    r"dock(?:s|ed|ing)?",
    r"undock(?:s|ed|ing)?",
    r"hatch",
    r"berth(?:s|ed|ing)?",
    r"arrives? (?:at|on) (?:the )?(?:station|iss|tiangong)",
    r"arrives? (?:at|on|to) (?:the )?(?:\S+ ){0,2}?(?:space station|iss|tiangong)",
    r"reach(?:es|ed)? (?:the )?(?:\S+ ){0,2}?(?:space station|iss|tiangong)",
    r"arrives? on station",
    r"(?<!booster )(?<!stage )splash(?:es|ed)? ?down",
    r"(?<!booster )(?<!stage )splashdown",
    r"lands",
    r"landed",
    r"back (?:on|to) earth",
    r"returns? (?:home|to earth)",
    r"re ?entry",
    r"deploys?",
    r"deployed",
    r"first (?:signal|light|images?)",
    r"orbit raising",
    r"reboost",
    r"flyby",
    r"around the moon",
    r"swings?",
    r"cruising",
    r"(?:tli|translunar|trans lunar)",
    r"welcomes?",
    r"(?:begins?|starts?) (?:\S+ )?operations",
    r"commissioning",
    r"depart(?:s|ure)",
)
# Coverage set for what happens after a launch: "NASA sets coverage for Ax-2 departure".
COVERAGE_AFTER = _rx(
    r"coverage (?:for|of) (?:(?!launch)\S+ ){0,5}?(?:departure|undocking|docking|splashdown|return|"
    r"arrival|landing|spacewalks?|reentry|re entry)"
)
# "<provider> to launch <payload>": with no day named, the news is the contract.
PROVIDER_TO_LAUNCH = _rx(r"(?:to|will) launch(?! of)")
# Flights resumed in general (not one numbered flight): a return-to-flight plan.
RESUME_FLIGHTS = _rx(r"resum(?:e|es|ing) (?:\S+ ){0,3}?flights")
# Hardware arriving or shipped: "Final ICPS arrives in Florida for Artemis III".
HARDWARE_MOVES = _rx(
    r"(?:stage|booster|icps|segments?|spacecraft|satellites?|payloads?|hardware|engines?|"
    r"tanks?|modules?|fairing|capsule)s? (?:\S+ ){0,2}?(?:arrives?|arrived|ships?|shipped|"
    r"delivered) (?:in|at|to)"
)
# A company "launches" a service/product: not a rocket.
PRODUCT = re.compile(
    r"(?<![a-z0-9])(?:launch(?:es|ed|ing)?|roll(?:s|ed)? out|unveil(?:s|ed)?|introduc(?:es|ed)) "
    r"(?:(?!(?:satellites?|probes?|spacecraft|cubesats?) (?:from|to|into|on|for|aboard) )"
    r"[^\s,;:.]+ ){0,6}?"
    r"(?:service|services|app|platform|programme|"
    r"program|initiative|campaign|website|portal|podcast|newsletter|product|fund|prize|challenge|"
    r"competition|course|exhibit|exhibition|book|film|documentary|network|tool|office|company|"
    r"startup|venture|brand|partnership|plan|study|call|consultation|report|series|division|messaging|"
    r"feature|capability|system)"
    r"(?![a-z0-9])"
)
LAUNCH_WORD = _rx(
    r"launch(?:es|ed|ing)?",
    r"liftoff",
    r"lift off",
    r"blast off",
    r"flight test",
    r"test flight",
    r"rocket",
    r"mission",
    r"flight",
)
CREWED = _rx(r"astronauts?", r"cosmonauts?", r"taikonauts?", r"crewed", r"crew", r"human")
UNCREWED = _rx(r"satellites?", r"cargo", r"uncrewed", r"unmanned", r"resupply", r"payloads?")
ORDINAL_WORDS = {
    "first": 1,
    "maiden": 1,
    "inaugural": 1,
    "debut": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
ORDINAL = re.compile(
    r"(?<![a-z0-9])(?<!record )(first|maiden|inaugural|second|third|fourth|fifth|sixth|seventh|"
    r"eighth|ninth|tenth|\d{1,2}(?:st|nd|rd|th)) (?:\S+ ){0,2}?(?:flight|launch|mission)"
    r"(?![a-z0-9])"
)
FLIGHT_NUMBER = re.compile(r"(?<![a-z0-9])(?:flight|flight test|ift) (\d{1,3})(?![a-z0-9])")
