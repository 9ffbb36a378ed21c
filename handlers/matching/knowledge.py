"""Curated spaceflight knowledge: vehicles, launch sites, agencies and mission series.

The knowledge lives as DATA in ``handlers/matching/tables/*.toml`` (one line per rocket, site,
agency or mission series; each file's header documents its format) so that adding a new rocket
needs no code change. This module loads those files once and answers two kinds of question:

* "which names occur in this text?" -- :meth:`KnowledgeBase.scan` runs one Aho-Corasick
  automaton over every alias (vehicles, sites, agencies) and one compiled regex over the
  mission patterns, so the matcher's cost does not grow with the size of the gazetteer;
* "what is the canonical spelling of this name?" -- :meth:`KnowledgeBase.canonical_vehicle`
  and friends, used by the bot's autocomplete and by evaluation.

All matching works on :func:`normalize`-d text: lower case, possessive "'s" removed, and
hyphens, underscores and quotes turned into spaces, so "Falcon-9", "Falcon 9" and "falcon 9"
are one alias. Matches must sit on word boundaries.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import ahocorasick
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "Agency",
    "Hit",
    "KnowledgeBase",
    "MissionHit",
    "MissionSeries",
    "Site",
    "Vehicle",
    "curated_knowledge",
    "curated_tables",
    "default_knowledge",
    "normalize",
]

Kind = Literal["vehicle", "site", "agency"]

#: Site hit tiers: a pad beats a site name, which beats a vague region.
TIER_REGION, TIER_NAME, TIER_PAD = 0, 1, 2

_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "“": '"', "”": '"'})
_POSSESSIVE = re.compile(r"(?<=[a-z0-9])'s\b")
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_'\"]+")
_ROMAN = ("", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
_ROMAN_VALUE = {r.lower(): i for i, r in enumerate(_ROMAN) if r}


def normalize(text: str) -> str:
    """Fold case, quotes, possessives and separators so aliases match any spelling."""
    text = text.translate(_QUOTES).lower()
    text = _POSSESSIVE.sub("", text)
    return _SEPARATORS.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A launch vehicle (or suborbital vehicle) with what can be inferred from it."""

    name: str
    family: str
    provider: str
    aliases: tuple[str, ...] = ()
    site: str | None = None
    kind: str = "orbital"
    crewed: bool | None = None
    #: Year of the last flight in the reference lists (None: flying, or not known).
    last_flight: int | None = None
    #: Flies several times a week: a report naming only the rocket could be any flight.
    frequent: bool = False


@dataclass(frozen=True, slots=True)
class Site:
    """A launch site; pads and regions resolve to it."""

    name: str
    country: str
    aliases: tuple[str, ...] = ()
    pads: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Agency:
    """A space agency or launch company."""

    name: str
    country: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MissionSeries:
    """A mission name template ("Crew-{n}") with the facts it implies."""

    template: str
    patterns: tuple[str, ...]
    vehicle: str | None = None
    site: str | None = None
    crewed: bool | None = None
    agencies: tuple[str, ...] = ()
    unique: bool = False
    #: For a recurring name: the name its numbered flights go by ("Cygnus" flies as
    #: "NG-{n}": family "NG"), so a report of the name joins the numbered flight's event.
    family: str | None = None
    #: Flies several times a week (Starlink): a report naming only the series could mean
    #: any of its flights, so it never joins one by family.
    frequent: bool = False

    @property
    def generic(self) -> bool:
        """True for recurring names without a number ("Starlink"): one name, many launches."""
        return "{" not in self.template and not self.unique


@dataclass(frozen=True, slots=True)
class Hit:
    """One gazetteer name found in normalised text."""

    kind: Kind
    name: str
    start: int
    end: int
    tier: int = TIER_NAME


@dataclass(frozen=True, slots=True)
class MissionHit:
    """One mission name found in normalised text, rendered canonically."""

    series: MissionSeries
    name: str
    start: int
    end: int


_PLACEHOLDERS: dict[str, str] = {
    "n": r"(\d{1,3})",
    "r": r"(\d{1,2}|viii|vii|iii|ii|iv|vi|ix|v|x|i)",
    "g": r"(\d{1,2} \d{1,3})",
    "id": r"([a-z]{0,3} ?\d{1,3}[a-z]?|[a-z]{1,3})",
    "c": r"(\d{1,3}[a-z]{0,2})",
}
_PLACEHOLDER_RE = re.compile(r"\{(n|r|g|id|c)\}")


def _pattern_regex(pattern: str, value_group: str) -> str:
    """Turn a documented mission pattern ("starlink [group ]{g}") into a regex fragment.

    The placeholder becomes the named group ``value_group`` so its value can be rendered.
    """
    out: list[str] = []
    pos = 0
    for m in _PLACEHOLDER_RE.finditer(pattern):
        out.append(_literal_regex(pattern[pos : m.start()]))
        out.append(f"(?P<{value_group}>" + _PLACEHOLDERS[m.group(1)][1:])
        pos = m.end()
    out.append(_literal_regex(pattern[pos:]))
    return "".join(out)


def _literal_regex(text: str) -> str:
    """Escape literal pattern text; spaces become optional, "[...]" becomes optional."""
    out: list[str] = []
    for ch in text:
        if ch == "[":
            out.append("(?:")
        elif ch == "]":
            out.append(")?")
        elif ch == " ":
            out.append(" ?")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def _render(template: str, value: str) -> str:
    """Fill a template's placeholder with the matched value in canonical form."""
    m = _PLACEHOLDER_RE.search(template)
    if m is None:
        return template
    kind = m.group(1)
    if kind == "r":
        number = int(value) if value.isdigit() else _ROMAN_VALUE[value]
        shown = _ROMAN[number] if 0 < number < len(_ROMAN) else str(number)
    elif kind == "g":
        shown = "-".join(str(int(part)) for part in value.split())
    elif kind == "n":
        shown = value
    else:
        shown = value.upper().replace(" ", "-")
    return template[: m.start()] + shown + template[m.end() :]


@dataclass(slots=True)
class KnowledgeBase:
    """Vehicles, sites, agencies and mission series, indexed for fast scanning."""

    vehicle_info: dict[str, Vehicle]
    site_info: dict[str, Site]
    agency_info: dict[str, Agency]
    missions: tuple[MissionSeries, ...]
    _automaton: Any = field(init=False, repr=False)
    #: Each series' regexes, compiled the first time its trigger word occurs: most of the
    #: ~2,500 series never occur in a given process, and compiling all costs a second.
    _mission_res: list[tuple[re.Pattern[str], ...] | None] = field(init=False, repr=False)
    _triggers: Any = field(init=False, repr=False)
    _families: dict[str, list[str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._automaton = self._build_automaton()
        self._mission_res = [None] * len(self.missions)
        self._triggers = _trigger_automaton(self.missions)
        families: dict[str, list[str]] = {}
        for v in self.vehicle_info.values():
            families.setdefault(normalize(v.family), []).append(v.name)
        self._families = families

    # ----------------------------------------------------------------- loading
    @classmethod
    def from_directory(cls, directory: Path) -> KnowledgeBase:
        """Load the four TOML files of a knowledge directory (and reference.toml if there)."""
        names = list(_TABLES)
        if (directory / f"{_REFERENCE}.toml").is_file():
            names.append(_REFERENCE)
        return cls.from_tables({n: _read_toml(directory / f"{n}.toml") for n in names})

    @classmethod
    def from_tables(cls, tables: Mapping[str, Mapping[str, Any]]) -> KnowledgeBase:
        """Build from already-parsed tables (lets tests use tiny inline knowledge bases)."""
        reference = tables.get(_REFERENCE, {})

        def merged(name: str) -> dict[str, Any]:
            return _with_reference(_section(tables, name), reference.get(name, {}), name)

        vehicles = {k: _vehicle(k, v) for k, v in merged("vehicles").items()}
        sites = {k: _site(k, v) for k, v in merged("sites").items()}
        agencies = {k: _agency(k, v) for k, v in merged("agencies").items()}
        missions = tuple(_mission(k, v) for k, v in merged("missions").items())
        _check_references(vehicles, sites, agencies, missions)
        return cls(vehicles, sites, agencies, missions)

    # ----------------------------------------------------------------- indexes
    def _alias_entries(self) -> Iterable[tuple[str, Kind, str, int]]:
        for v in self.vehicle_info.values():
            for alias in v.aliases:
                yield alias, "vehicle", v.name, TIER_NAME
        for s in self.site_info.values():
            for alias in s.aliases:
                yield alias, "site", s.name, TIER_NAME
            for alias in s.pads:
                yield alias, "site", s.name, TIER_PAD
            for alias in s.regions:
                yield alias, "site", s.name, TIER_REGION
        for a in self.agency_info.values():
            for alias in a.aliases:
                yield alias, "agency", a.name, TIER_NAME

    def _build_automaton(self) -> Any:
        table: dict[str, list[tuple[Kind, str, int]]] = {}
        for alias, kind, name, tier in self._alias_entries():
            key = normalize(alias)
            if key:
                entry = (kind, name, tier)
                if entry not in table.setdefault(key, []):
                    table[key].append(entry)
        automaton = ahocorasick.Automaton()
        for key, entries in table.items():
            automaton.add_word(key, (len(key), tuple(entries)))
        automaton.make_automaton()
        return automaton

    # ----------------------------------------------------------------- scanning
    def scan(self, norm: str) -> list[Hit]:
        """All vehicle/site/agency names in normalised text, longest non-overlapping first."""
        found: list[Hit] = []
        for end, (length, entries) in self._automaton.iter(norm):
            start = end - length + 1
            if not _on_boundary(norm, start, end + 1):
                continue
            for kind, name, tier in entries:
                found.append(Hit(kind, name, start, end + 1, tier))
        return _non_overlapping(found)

    def find_missions(self, norm: str) -> list[MissionHit]:
        """Mission names in normalised text, rendered canonically, in text order.

        Only series whose trigger word occurs are tried (an Aho-Corasick pass), which keeps
        the cost flat as series are added. Overlaps go to the earlier match, then to the
        series listed first in missions.toml.
        """
        candidates = {
            i
            for end, (length, ids) in self._triggers.iter(norm)
            if end - length < 0 or not norm[end - length].isalnum()
            for i in ids
        }
        found: list[tuple[int, int, MissionHit]] = []
        for i in sorted(candidates):
            series = self.missions[i]
            regexes = self._mission_res[i]
            if regexes is None:
                regexes = self._mission_res[i] = _series_regexes(series)
            for regex in regexes:
                for m in regex.finditer(norm):
                    value = m.group("v") if "v" in regex.groupindex else None
                    rendered = _render(series.template, value) if value else series.template
                    hit = MissionHit(series, rendered, m.start(), m.end())
                    found.append((m.start(), i, hit))
        found.sort(key=lambda f: (f[0], f[1]))
        hits: list[MissionHit] = []
        for _, _, hit in found:
            if not hits or hit.start >= hits[-1].end:
                hits.append(hit)
        return hits

    # ----------------------------------------------------------------- public helpers
    def vehicles(self) -> list[str]:
        """Canonical vehicle names, sorted, for autocomplete."""
        return sorted(self.vehicle_info)

    def sites(self) -> list[str]:
        """Canonical launch-site names, sorted, for autocomplete."""
        return sorted(self.site_info)

    def active_providers(self, since: int) -> frozenset[str]:
        """Agencies that fly a vehicle flown in or after ``since`` (or with no known end)."""
        return frozenset(
            v.provider
            for v in self.vehicle_info.values()
            if v.provider and (v.last_flight is None or v.last_flight >= since)
        )

    def customers(self, min_series: int = 3) -> frozenset[str]:
        """Agencies operating at least ``min_series`` mission series on rockets they do not
        fly (NASA: Crew, CRS, ...): naming one does not say whose rocket launched."""
        flown_by = {name: info.provider for name, info in self.vehicle_info.items()}
        counts: dict[str, int] = {}
        for series in self.missions:
            for agency in series.agencies:
                if series.vehicle is None or flown_by.get(series.vehicle) != agency:
                    counts[agency] = counts.get(agency, 0) + 1
        return frozenset(a for a, n in counts.items() if n >= min_series)

    def agencies(self) -> list[str]:
        """Canonical agency/provider names, sorted, for autocomplete."""
        return sorted(self.agency_info)

    def canonical_vehicle(self, text: str) -> str | None:
        """Canonical vehicle for a name or phrase; an unambiguous family name also resolves."""
        norm = normalize(text)
        exact = _exact(norm, self.vehicle_info)
        if exact:
            return exact
        hits = [h for h in self.scan(norm) if h.kind == "vehicle"]
        if hits:
            return hits[0].name
        members = self._families.get(norm, [])
        return members[0] if len(members) == 1 else None

    def canonical_site(self, text: str) -> str | None:
        """Canonical site for a site/pad phrase; a named pad wins over a region."""
        norm = normalize(text)
        exact = _exact(norm, self.site_info)
        if exact:
            return exact
        hits = [h for h in self.scan(norm) if h.kind == "site"]
        return best_site(hits)

    def canonical_agency(self, text: str) -> str | None:
        """Canonical agency for a name or abbreviation."""
        norm = normalize(text)
        exact = _exact(norm, self.agency_info)
        if exact:
            return exact
        hits = [h for h in self.scan(norm) if h.kind == "agency"]
        return hits[0].name if hits else None

    def canonical_mission(self, text: str) -> str | None:
        """Canonical mission name for a phrase ("Artemis 2" -> "Artemis II"), else None."""
        hits = self.find_missions(normalize(text))
        return hits[0].name if hits else None


def _series_regexes(series: MissionSeries) -> tuple[re.Pattern[str], ...]:
    """One word-bounded regex per pattern; a placeholder's value is the group "v"."""
    return tuple(
        re.compile(rf"(?<![a-z0-9])(?:{_pattern_regex(p.lower(), 'v')})(?![a-z0-9])")
        for p in series.patterns
    )


def _trigger_automaton(missions: tuple[MissionSeries, ...]) -> Any:
    """Map each series' longest mandatory literal word to the series that need it."""
    table: dict[str, set[int]] = {}
    for i, series in enumerate(missions):
        for pattern in series.patterns:
            table.setdefault(_trigger(pattern), set()).add(i)
    automaton = ahocorasick.Automaton()
    for word, ids in table.items():
        automaton.add_word(word, (len(word), tuple(sorted(ids))))
    automaton.make_automaton()
    return automaton


def _trigger(pattern: str) -> str:
    """The longest literal word that every match of the pattern must contain."""
    mandatory = re.sub(r"\[[^\]]*\]", " ", pattern.lower())
    mandatory = _PLACEHOLDER_RE.sub(" ", mandatory)
    words = [w for w in re.split(r"[ .]", mandatory) if w]
    return max(words, key=len) if words else pattern.lower()


def best_site(hits: Iterable[Hit]) -> str | None:
    """Pick the most specific site named: a pad beats a site name beats a region.

    A pad code several sites share ("LC-2", "Launch Complex 16") goes to the one whose
    name the text also gives; otherwise to the first listed.
    """
    sites = [h for h in hits if h.kind == "site"]
    if not sites:
        return None
    top = max(h.tier for h in sites)
    best = [h for h in sites if h.tier == top]
    if len({h.name for h in best}) > 1:
        named = {h.name for h in sites if h.tier < top}
        for h in best:
            if h.name in named:
                return h.name
    return best[0].name


def _exact(norm: str, table: Mapping[str, object]) -> str | None:
    for name in table:
        if normalize(name) == norm:
            return name
    return None


def _on_boundary(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not before.isalnum() and not after.isalnum()


def _non_overlapping(hits: list[Hit]) -> list[Hit]:
    """Keep the longest hit at each place; several kinds may share one span."""
    hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[Hit] = []
    limit = -1
    span: tuple[int, int] | None = None
    for h in hits:
        if (h.start, h.end) == span or h.start >= limit:
            kept.append(h)
            span = (h.start, h.end)
            limit = max(limit, h.end)
    return kept


# --------------------------------------------------------------------- TOML parsing
_TABLES = ("vehicles", "sites", "agencies", "missions")
#: The generated names table (scripts/build_reference_names.py): same schema, curated wins.
_REFERENCE = "reference"
#: What a reference entry may add to a curated entry of the same key.
_LISTS = ("aliases", "pads", "patterns")


def _with_reference(
    curated: Mapping[str, Any], reference: Mapping[str, Any], name: str
) -> dict[str, Any]:
    """Curated entries, plus the reference table's new entries and extra names.

    For a key both have, the reference only adds to the name lists; every other curated
    field stands. New keys come after the curated ones (missions are tried in order).
    """
    if not isinstance(reference, Mapping):
        raise ValueError(f"knowledge reference.{name} must be a TOML table")
    out = dict(curated)
    for key, spec in reference.items():
        mine = curated.get(key)
        if mine is None:
            out[key] = spec
            continue
        if not isinstance(spec, Mapping) or not isinstance(mine, Mapping):
            raise ValueError(f"knowledge reference.{name}.{key!r}: expected a table of fields")
        combined = dict(mine)
        for field_name in _LISTS:
            extra = spec.get(field_name)
            if extra:
                combined[field_name] = [*mine.get(field_name, ()), *extra]
        out[key] = combined
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _section(tables: Mapping[str, Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    table = tables.get(name, {})
    inner = table.get(name, table)
    if not isinstance(inner, Mapping):
        raise ValueError(f"knowledge table {name!r} must be a TOML table")
    return inner


class _Spec(BaseModel):
    """One entry of a knowledge table: every field known, every value of its type, so a
    typo in a key is an error instead of a silently lost alias."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _VehicleSpec(_Spec):
    aliases: tuple[str, ...] = ()
    family: str | None = None
    provider: str | None = None
    site: str | None = None
    kind: Literal["orbital", "suborbital", "spacecraft"] = "orbital"
    crewed: bool | None = None
    strict: bool = False
    last_flight: int | None = None
    frequent: bool = False


class _SiteSpec(_Spec):
    aliases: tuple[str, ...] = ()
    country: str = ""
    pads: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    strict: bool = False


class _AgencySpec(_Spec):
    aliases: tuple[str, ...] = ()
    country: str = ""
    strict: bool = False


class _MissionSpec(_Spec):
    patterns: tuple[str, ...] = Field(min_length=1)
    vehicle: str | None = None
    site: str | None = None
    crewed: bool | None = None
    agencies: tuple[str, ...] = ()
    unique: bool = False
    family: str | None = None
    frequent: bool = False


_SpecT = TypeVar("_SpecT", bound=_Spec)


def _parse(model: type[_SpecT], table: str, key: str, spec: Any) -> _SpecT:
    if not isinstance(spec, Mapping):
        raise ValueError(f"knowledge {table}.{key!r}: expected a table of fields")
    try:
        # TOML arrays arrive as lists; the models keep tuples.
        return model.model_validate(
            {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'entry'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ValueError(f"knowledge {table}.{key!r}: {problems}") from None


def _names(key: str, aliases: tuple[str, ...], strict: bool) -> tuple[str, ...]:
    """Aliases plus the canonical key itself unless the key is marked strict."""
    return aliases if strict else (key, *aliases)


def _vehicle(key: str, raw: Any) -> Vehicle:
    spec = _parse(_VehicleSpec, "vehicles", key, raw)
    return Vehicle(
        name=key,
        family=spec.family or key,
        provider=spec.provider or "",
        aliases=_names(key, spec.aliases, spec.strict),
        site=spec.site,
        kind=spec.kind,
        crewed=spec.crewed,
        last_flight=spec.last_flight,
        frequent=spec.frequent,
    )


def _site(key: str, raw: Any) -> Site:
    spec = _parse(_SiteSpec, "sites", key, raw)
    return Site(
        name=key,
        country=spec.country,
        aliases=_names(key, spec.aliases, spec.strict),
        pads=spec.pads,
        regions=spec.regions,
    )


def _agency(key: str, raw: Any) -> Agency:
    spec = _parse(_AgencySpec, "agencies", key, raw)
    return Agency(name=key, country=spec.country, aliases=_names(key, spec.aliases, spec.strict))


def _mission(key: str, raw: Any) -> MissionSeries:
    # The spec's fields are the series' own, one for one.
    return MissionSeries(template=key, **_parse(_MissionSpec, "missions", key, raw).model_dump())


def _check_references(
    vehicles: Mapping[str, Vehicle],
    sites: Mapping[str, Site],
    agencies: Mapping[str, Agency],
    missions: Sequence[MissionSeries],
) -> None:
    """Every name one table gives for another table's entry must be a key there."""
    problems = []
    for v in vehicles.values():
        if v.site is not None and v.site not in sites:
            problems.append(f"vehicles.{v.name!r}.site {v.site!r} is not in sites")
        if v.provider and v.provider not in agencies:
            problems.append(f"vehicles.{v.name!r}.provider {v.provider!r} is not in agencies")
    for m in missions:
        if m.vehicle is not None and m.vehicle not in vehicles:
            problems.append(f"missions.{m.template!r}.vehicle {m.vehicle!r} is not in vehicles")
        if m.site is not None and m.site not in sites:
            problems.append(f"missions.{m.template!r}.site {m.site!r} is not in sites")
        problems.extend(
            f"missions.{m.template!r}.agencies {a!r} is not in agencies"
            for a in m.agencies
            if a not in agencies
        )
    if problems:
        raise ValueError("knowledge base: " + "; ".join(problems))


def curated_tables() -> dict[str, Any]:
    """The hand-written tables as parsed TOML (the reference names are built on them)."""
    return _shipped_tables(_TABLES)


def _shipped_tables(names: Iterable[str]) -> dict[str, Any]:
    root = resources.files("handlers.matching") / "tables"
    return {n: tomllib.loads((root / f"{n}.toml").read_text("utf-8")) for n in names}


@cache
def default_knowledge() -> KnowledgeBase:
    """The knowledge base shipped in ``handlers/matching/tables/``, loaded once per process:
    the curated tables plus the reference names derived from public launch lists."""
    return KnowledgeBase.from_tables(_shipped_tables((*_TABLES, _REFERENCE)))


def curated_knowledge() -> KnowledgeBase:
    """The hand-written tables alone (what the reference names are resolved against)."""
    return KnowledgeBase.from_tables(curated_tables())
