"""What a launch story names: its mission, vehicle, and whether people fly."""

from __future__ import annotations

import re

from handlers.matching.cues import (
    CREWED,
    FLIGHT_NUMBER,
    ORDINAL,
    ORDINAL_WORDS,
    UNCREWED,
)
from handlers.matching.knowledge import Hit, MissionHit
from handlers.matching.text import ScannedText


def inside_mission(hit: Hit, missions: tuple[MissionHit, ...]) -> bool:
    """A vehicle word inside a mission name ("Soyuz" in "Soyuz MS-28") is not the rocket."""
    return hit.kind == "vehicle" and any(
        m.start <= hit.start and hit.end <= m.end and m.series.vehicle for m in missions
    )


def pick_mission(head: ScannedText, lead: ScannedText) -> MissionHit | None:
    """Prefer a numbered mission (headline first), else a recurring family name."""
    for hits in (head.missions, lead.missions):
        for m in hits:
            if not m.series.generic:
                generic_head = [g for g in head.missions if g.series.generic]
                if hits is lead.missions and generic_head and not same_family(generic_head[0], m):
                    return generic_head[0]
                return m
    for hits in (head.missions, lead.missions):
        if hits:
            return hits[0]
    return None


def same_family(generic: MissionHit, specific: MissionHit) -> bool:
    return specific.name.casefold().startswith(generic.name.casefold()[:5])


def flight_name(head: ScannedText, lead: ScannedText, *, ordinals: bool = True) -> str | None:
    """ "Flight 12" or "third flight of X" when no mission is named (Starship, new rockets).

    ``ordinals=False`` when no rocket is named: "first launch failure", "tenth crewed
    mission" count a company's launches, not one rocket's flights."""
    for text in (head.norm, lead.norm):
        m = FLIGHT_NUMBER.search(text)
        if m:
            return f"Flight {int(m.group(1))}"
        o = ORDINAL.search(text) if ordinals else None
        if o:
            word = o.group(1)
            number = ORDINAL_WORDS.get(word) or int(re.sub(r"\D", "", word))
            return f"Flight {number}"
    return None


def pick_vehicle(head: ScannedText, lead: ScannedText, series_vehicle: str | None) -> str | None:
    for text in (head, lead):
        if text.vehicles:
            return text.vehicles[0]
    return series_vehicle


def read_crewed(
    head: ScannedText, lead: ScannedText, series: bool | None, vehicle: bool | None
) -> bool | None:
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
