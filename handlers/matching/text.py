"""Text the matcher reads: cleaned summaries, their lead, and event keys."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from handlers.matching.knowledge import Hit, MissionHit, normalize

__all__ = ["ScannedText", "clean_summary", "dedup", "event_key", "lead_of", "slug"]

_BOILERPLATE = re.compile(r"the post .*? appeared first on .*?(?:\.|$)", re.I | re.S)


_DATELINE = re.compile(
    r"^[^\n]{0,80}\((?:SPX|AFP|UPI|AP|Reuters|Xinhua)\)\s+\w{3}\s+\d{1,2},\s+\d{4}\s*", re.S
)


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class ScannedText:
    """One field (headline or summary lead) with what the KB found in it."""

    norm: str
    hits: tuple[Hit, ...]
    missions: tuple[MissionHit, ...]

    @property
    def vehicles(self) -> list[str]:
        return dedup(h.name for h in self.hits if h.kind == "vehicle")

    @property
    def vehicle_ends(self) -> frozenset[int]:
        """Where each named vehicle ends in ``norm``."""
        return frozenset(h.end for h in self.hits if h.kind == "vehicle")

    @property
    def has_subject(self) -> bool:
        """Names something that launches: a vehicle or a mission."""
        return bool(self.missions) or any(h.kind == "vehicle" for h in self.hits)


def dedup(items: Iterable[str]) -> list[str]:
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


def clean_summary(summary: str) -> str:
    """Drop feed boilerplate and datelines that would leak dates and titles."""
    summary = _BOILERPLATE.sub(" ", summary)
    return _DATELINE.sub("", summary.strip())


def lead_of(summary: str) -> str:
    """The first two sentences: where a summary states its news."""
    return " ".join(_SENTENCE.split(summary, maxsplit=2)[:2])
