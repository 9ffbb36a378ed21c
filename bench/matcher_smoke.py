"""A labelled smoke test of the launch-story matcher: hand-written hard headlines.

:data:`HARD_CASES` (written for this file, not copied from anywhere) covers Chinese
commercial, Indian, Japanese, European, Russian and small US / New Zealand launchers,
suborbital flights, failures, scrubs, previews, and hard negatives of the same shape.
``tests/handlers/test_matcher.py`` runs the same table as unit tests.

This is a smoke test, not a measure of quality: headlines written by the people who wrote
the rules say little about real news. Headlines synthesised from the reference launch lists
were tried and retired for the same reason (they did not predict the scores on real news).
Quality on real, hand-labelled news is ``python -m bench.matcher_eval``.

Run: ``python -m bench.matcher_smoke [--errors N]``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from handlers.matching.knowledge import KnowledgeBase, default_knowledge, normalize
from handlers.matching.matcher import LaunchMatcher


@dataclass(frozen=True, slots=True)
class Case:
    """One invented headline with its rubric label and the entities the bot should read.

    ``status`` is None for "other" (not a launch story). ``vehicle``/``site`` are canonical
    KB names (None: not checked); ``mission`` is compared leniently (None: not checked).
    """

    title: str
    status: str | None
    vehicle: str | None = None
    mission: str | None = None
    site: str | None = None


L, F, U, S = "launched", "failed", "upcoming", "scrubbed"
CAPE, KSC, VAFB = "Cape Canaveral SFS", "Kennedy Space Center", "Vandenberg SFB"
JIUQUAN, XICHANG = "Jiuquan Satellite Launch Center", "Xichang Satellite Launch Center"
SDSC, TANE = "Satish Dhawan Space Centre", "Tanegashima Space Center"

#: Published reference for the hand-written cases (relative words resolve against it).
HARD_PUBLISHED = datetime(2031, 5, 12, 12, 0, tzinfo=UTC)

HARD_CASES: tuple[Case, ...] = (
    # ---- launch reports: Chinese state and commercial launchers
    Case(
        "Galactic Energy's Ceres-1 puts five satellites into orbit from Jiuquan",
        L,
        "Ceres-1",
        None,
        JIUQUAN,
    ),
    Case(
        "Zhuque-2E lofts trio of satellites for commercial customers", L, "Zhuque-2", None, JIUQUAN
    ),
    Case("Kinetica-1 successfully launches six satellites", L, "Kinetica-1", None, JIUQUAN),
    Case(
        "China successfully launches new remote sensing satellite on Long March 4C",
        L,
        "Long March 4C",
    ),
    Case(
        "Long March 3B sends Beidou navigation satellite into orbit from Xichang",
        L,
        "Long March 3B",
        "Beidou",
        XICHANG,
    ),
    Case("Chinese rocket Kuaizhou-1A lofts pair of satellites", L, "Kuaizhou-1A"),
    Case(
        "Gravity-1 lifts off from sea platform off Shandong",
        L,
        "Gravity-1",
        None,
        "Haiyang Sea Launch",
    ),
    Case("Space Pioneer's Tianlong-3 reaches orbit on debut", L, "Tianlong-3"),
    Case("Shenzhou-18 crew blasts off for Tiangong", L, "Long March 2F", "Shenzhou-18", JIUQUAN),
    Case(
        "Tianzhou-7 cargo craft launched to China's space station",
        L,
        "Long March 7",
        "Tianzhou-7",
        "Wenchang Space Launch Site",
    ),
    Case("Long March 3A launches Beidou satellite", L, "Long March 3A", "Beidou", XICHANG),
    Case("China rockets Yaogan-41 into orbit", L, None, "Yaogan-41"),
    # ---- India, Japan, Korea
    Case("ISRO's PSLV-C58 takes flight with X-ray astronomy satellite", L, "PSLV", None, SDSC),
    Case("GSLV-F15 successfully places navigation satellite in orbit", L, "GSLV", None, SDSC),
    Case("LVM3 soars with 36 broadband satellites", L, "LVM3", None, SDSC),
    Case(
        "India's first private rocket Vikram-S lifts off from Sriharikota",
        L,
        "Vikram-S",
        None,
        SDSC,
    ),
    Case("Japan's H3 rocket reaches orbit on second attempt", L, "H3", None, TANE),
    Case("H-IIA launches lunar lander from Tanegashima", L, "H-IIA", None, TANE),
    Case("H-IIB sends Kounotori cargo ship to the space station", L, "H-IIB", None, TANE),
    Case("Interstellar Technologies' MOMO sounding rocket reaches space", L, "MOMO"),
    Case(
        "Nuri rocket successfully launches Korean satellites", L, "Nuri", None, "Naro Space Center"
    ),
    # ---- Europe and Russia
    Case(
        "Ariane 6 rockets into orbit on maiden flight", L, "Ariane 6", None, "Guiana Space Centre"
    ),
    Case("Vega-C launch success returns European rocket to service", L, "Vega-C"),
    Case(
        "Soyuz-2.1b launches GLONASS-K navigation satellite from Plesetsk",
        L,
        "Soyuz-2.1b",
        None,
        "Plesetsk Cosmodrome",
    ),
    Case("Angara-A5 lifts off from Vostochny", L, "Angara-A5", None, "Vostochny Cosmodrome"),
    Case("Dnepr launches record 37 satellites from Yasny", L, "Dnepr", None, "Yasny Cosmodrome"),
    # ---- United States and New Zealand
    Case(
        "Rocket Lab Electron deploys seven satellites after launch from Mahia",
        L,
        "Electron",
        None,
        "Rocket Lab LC-1",
    ),
    Case("Firefly Alpha reaches orbit for the first time", L, "Firefly Alpha", None, VAFB),
    Case("Falcon Heavy soars with classified Space Force payload", L, "Falcon Heavy", None, KSC),
    Case("Atlas V launches final batch of broadband satellites", L, "Atlas V"),
    Case("New Glenn rockets into space on debut flight", L, "New Glenn", None, CAPE),
    Case("Delta IV Heavy launches NROL-44 spy satellite", L, "Delta IV Heavy", "NROL-44"),
    Case(
        "Minotaur I launches NROL-111 from Wallops",
        L,
        "Minotaur I",
        "NROL-111",
        "Wallops Flight Facility",
    ),
    Case("Space Shuttle Atlantis lifts off on final mission", L, "Space Shuttle", None, KSC),
    Case("Iran's Simorgh places three satellites into orbit", L, "Simorgh"),
    # ---- suborbital
    Case(
        "Blue Origin's New Shepard launches NS-26 with six passengers",
        L,
        "New Shepard",
        "NS-26",
        "Launch Site One",
    ),
    Case(
        "Virgin Galactic's VSS Unity carries crew to the edge of space",
        L,
        "SpaceShipTwo",
        None,
        "Spaceport America",
    ),
    Case(
        "Rocket Lab HASTE lifts off from Wallops on hypersonic test",
        L,
        "HASTE",
        None,
        "Wallops Flight Facility",
    ),
    # ---- failures
    Case("Kairos rocket explodes seconds after liftoff", F, "Kairos", None, "Spaceport Kii"),
    Case("Zhuque-2 fails to reach orbit on maiden launch", F, "Zhuque-2"),
    Case("Astra rocket lost shortly after liftoff from Cape Canaveral", F, None, None, CAPE),
    Case("Firefly Alpha suffers anomaly during ascent, satellites lost", F, "Firefly Alpha"),
    Case("Epsilon launch ends in failure after attitude control problem", F, "Epsilon"),
    Case("SSLV maiden flight places satellites in wrong orbit", F, "SSLV", None, SDSC),
    Case("Electron suffers second stage anomaly, payloads lost", F, "Electron"),
    Case("Terran 1 reaches space but fails to make orbit", F, "Terran 1"),
    Case(
        "Proton-M crashes shortly after liftoff from Baikonur",
        F,
        "Proton-M",
        None,
        "Baikonur Cosmodrome",
    ),
    Case(
        "Antares rocket explodes seconds after launch from Wallops",
        F,
        "Antares",
        None,
        "Wallops Flight Facility",
    ),
    # ---- previews
    Case(
        "Live coverage: Rocket Lab to launch Electron from Mahia",
        U,
        "Electron",
        None,
        "Rocket Lab LC-1",
    ),
    Case("ISRO set to launch PSLV with Earth observation satellite", U, "PSLV", None, SDSC),
    Case("H3 rolls out to the pad at Tanegashima", U, "H3", None, TANE),
    Case(
        "Soyuz MS-25 crew arrives at Baikonur ahead of launch",
        U,
        "Soyuz-2.1a",
        "Soyuz MS-25",
        "Baikonur Cosmodrome",
    ),
    Case("Ariane 6 poised for first commercial launch from Kourou", U, "Ariane 6"),
    Case("Long March 5 prepares to launch lunar sample mission", U, "Long March 5"),
    Case("Eris rocket on the pad for first orbital attempt", U, "Eris"),
    Case("Crew-9 launch set for Thursday", U, "Falcon 9", "Crew-9"),
    # ---- scrubs and slips
    Case("Vulcan launch scrubbed due to ground equipment issue", S, "Vulcan", None, CAPE),
    Case("Falcon 9 Transporter-11 launch slips a day", S, "Falcon 9", "Transporter-11"),
    Case("Weather delays Long March 2F launch of Shenzhou-17", S, "Long March 2F", "Shenzhou-17"),
    Case("H3 launch called off moments before liftoff", S, "H3"),
    Case("Soyuz launch postponed after fuelling glitch", S, "Soyuz"),
    Case("Starliner launch attempt aborted at T-minus 3 minutes", S, "Atlas V", "Starliner"),
    Case("ISRO reschedules PSLV launch to Monday", S, "PSLV"),
    # ---- hard negatives of the same shape
    Case("Rocket Lab wins contract to launch weather satellites on Electron", None),
    Case("North Korea launches ballistic missile toward the Sea of Japan", None),
    Case("Shenzhou-18 spacecraft docks with Tiangong station", None),
    Case("Crew-8 splashes down off Florida coast", None),
    Case("Falcon 9 booster lands on drone ship for the 20th time", None),
    Case("Ten years since the launch of the first Falcon Heavy", None),
    Case("Remembering Challenger, 40 years after the launch", None),
    Case("Investigation blames valve for Zhuque-2 launch failure", None),
    Case("ISRO launches new mobile app for satellite data", None),
    Case("Amazon launches Kuiper broadband service in beta", None),
    Case("Launch window opens for new smartphone preorders", None),
    Case("Blue Origin tests BE-4 engine at West Texas site", None),
    Case("Relativity Space conducts Aeon R engine hot fire", None),
    Case("SpaceX launch cadence hits record in 2023", None),
    Case("Weekly launch roundup: Falcon 9, Long March 2D and Electron", None),
    Case("Russia test-fires Sarmat ICBM from Plesetsk", None),
    Case("Soyuz MS-24 crew completes six-month mission", None),
    Case("Arianespace signs deal to launch Galileo satellites on Ariane 6", None),
    Case("Japan's H3 failure blamed on electrical fault", None),
    Case("Operator loses contact with satellite after Long March 2D launch", None),
    Case("Five years since the launch of Tianwen-1 to Mars", None),
    Case("Gilmour Space receives launch permit for Eris", None),
    Case("Falcon 9 explodes on the pad during static fire test", None),
    Case("Anniversary of the first Ariane 5 launch marked in Kourou", None),
    Case("New Glenn upper stage engine test campaign wraps up", None),
    Case("Rocket Lab opens new Electron production facility", None),
)


@dataclass(slots=True)
class Score:
    """Counts of one figure."""

    ok: int = 0
    n: int = 0

    def add(self, good: bool) -> None:
        self.ok += good
        self.n += 1

    def __str__(self) -> str:
        return f"{self.ok / self.n if self.n else 0.0:.3f} ({self.ok}/{self.n})"


def mission_matches(kb: KnowledgeBase, gold: str, pred: str | None) -> bool:
    """Lenient mission comparison: canonical forms, case/punctuation-free, prefix either way."""
    if pred is None:
        return False
    g = _fold(kb.canonical_mission(gold) or gold)
    p = _fold(pred)
    return bool(g) and bool(p) and (g == p or g.startswith(p) or p.startswith(g))


def _fold(text: str) -> str:
    t = normalize(text)
    t = re.sub(
        r"\b(iv|iii|ii|i|v)\b",
        lambda m: str(["i", "ii", "iii", "iv", "v"].index(m.group(1)) + 1),
        t,
    )
    return re.sub(r"[^a-z0-9]", "", t)


def case_errors(matcher: LaunchMatcher, case: Case) -> list[str]:
    """What the matcher gets wrong on one hand-written case ([] when all is right)."""
    m = matcher.match(case.title, "", HARD_PUBLISHED)
    got = m.status.value if m else None
    if got != case.status:
        return [f"status {case.status} -> {got}"]
    if m is None:
        return []
    errors = []
    if case.vehicle is not None and m.vehicle != case.vehicle:
        errors.append(f"vehicle {case.vehicle} -> {m.vehicle}")
    if case.mission is not None and not mission_matches(matcher.kb, case.mission, m.mission):
        errors.append(f"mission {case.mission} -> {m.mission}")
    if case.site is not None and m.site != case.site:
        errors.append(f"site {case.site} -> {m.site}")
    return errors


def run_hard_cases(matcher: LaunchMatcher, n_errors: int) -> None:
    """Score the hand-written table and list what is wrong."""
    detect = Score()
    reject = Score()
    status, entities = Score(), Score()
    failures: list[str] = []
    for case in HARD_CASES:
        m = matcher.match(case.title, "", HARD_PUBLISHED)
        if case.status is None:
            reject.add(m is None)
        else:
            detect.add(m is not None)
            if m is not None:
                status.add(m.status.value == case.status)
        errs = case_errors(matcher, case)
        if m is not None and case.status is not None and m.status.value == case.status:
            entities.add(not errs)
        if errs:
            failures.append(f"{case.title}  [{'; '.join(errs)}]")
    print(f"\n== hand-written hard headlines ({len(HARD_CASES)}, titles only)")
    print(f"launch stories detected: {detect}")
    print(f"negatives rejected: {reject}")
    print(f"status right when detected: {status}")
    print(f"all checked entities right (given right status): {entities}")
    print(f"cases fully right: {len(HARD_CASES) - len(failures)}/{len(HARD_CASES)}")
    for line in failures[:n_errors]:
        print(f"  - {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", type=int, default=200, help="wrong cases listed")
    args = parser.parse_args(argv)
    run_hard_cases(LaunchMatcher(default_knowledge()), args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
