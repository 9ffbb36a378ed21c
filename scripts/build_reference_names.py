"""Derive the knowledge base's reference names table from two public launch lists.

    python -m scripts.build_reference_names [--data ../shared/data] [--check]

Reads (never ships) two reference lists under ``<data>/reference/``:

* ``launches-to-2023.csv`` -- 6,574 launches to August 2023: organisation, location
  ("pad, site, region, country"), "Vehicle | Mission". A public scrape of a launch-tracking
  site with no licence stated, so only names are taken from it;
* ``ll2_launches.json`` -- Launch Library 2 launch records (The Space Devs, via
  multipolygon/launch-library-rss, MIT): rocket configuration, pad, location, provider.

and writes ``handlers/matching/tables/reference.toml``: every vehicle, organisation, site, pad
and mission name in them, in the knowledge tables' own schema and resolved against the
curated tables. A name the curated tables already know becomes an extra alias of the curated
entry; a new name becomes a new entry, which the curated tables always override.

Names that are ordinary English words would fire on unrelated prose ("Hope", "Scout",
"Lemon Tree", "JUICE"), so a word's frequency in English decides: a vehicle or agency whose
every word is common keeps only a qualified alias ("Scout rocket"); such a mission name is
dropped. ``--check`` rebuilds in memory and fails when the shipped table is out of date.
The word frequencies come from the ``wordfreq`` package: ``pip install -e '.[names]'``.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers.matching.knowledge import (
    TIER_NAME,
    KnowledgeBase,
    curated_knowledge,
    normalize,
)

OUT = Path(__file__).resolve().parent.parent / "handlers" / "matching" / "tables" / "reference.toml"

#: A word at or above this Zipf frequency (about once per 100,000 English words) is
#: "common": a name made only of such words needs a qualifier to be matched.
COMMON_ZIPF = 3.0
#: Words this common ("program", "galaxy") are not a series name even with a number.
VERY_COMMON_ZIPF = 4.0

#: Words that name a kind of flight, not one: never a mission name on their own.
# fmt: off
GENERIC_WORDS = frozenset({
    "flight", "flights", "mission", "missions", "test", "tests", "demo", "demonstration",
    "launch", "launches", "group", "block", "batch", "satellite", "satellites", "sat", "sats",
    "payload", "payloads", "unknown", "dummy", "maiden", "first", "second", "third", "fourth",
    "fifth", "crew", "expedition", "return", "phase", "stage", "tranche", "part", "series",
    "number", "unit", "module", "orbital", "suborbital", "others", "other", "x", "mass",
    "simulator", "prototype", "vehicle", "rocket", "telescope", "spacecraft", "probe",
    "observatory", "lander", "rover", "the", "a", "of", "and", "to", "for",
})
# fmt: on
#: Trailing words that qualify a name without being part of it ("Euclid Telescope").
NAME_SUFFIXES = ("telescope", "spacecraft", "satellite", "satellites", "probe", "mission")
#: Words that make a location part a launch site rather than a pad, region or country.
SITE_WORD = re.compile(
    r"cosmodrome|cent(?:er|re)|\bspace\b|spaceport|\brange\b|\bbase\b|\bsite\b|station|"
    r"airbase|\bsfs\b|\bafb\b|\bsfb\b|\bafs\b|launch area|ground|facility|complex|platform|"
    r"island|kapustin|peninsula",
    re.I,
)
_PARENS = re.compile(r"\s*\(([^)]*)\)")
_SPLIT_PAYLOADS = re.compile(r"\s*(?:&|\band\b|,|;| \+ |/(?=[A-Za-z]))\s*", re.I)
_COUNT = re.compile(r"^\d+\s*x\s+|\s+x\s*\d+$|\s+#?\d+\s*x$", re.I)
_NUMBERED = re.compile(
    r"^(?P<base>[A-Za-z][\w.'’ -]*?(?:[A-Za-z]|\d(?= )))(?P<sep>[\s-]*)"
    r"(?P<value>\d{1,3}(?:[\s-]+\d{1,3}|[A-Za-z]{1,2})?)$"
)
_NUMBER_WORD = re.compile(r"\d")
#: Serial markers dropped before reading a number: "Molniya-1 n°105", "OneWeb #19", "No.3".
_SERIAL = re.compile(r"\s*(?:n°|no\.|#)\s*", re.I)
#: A pad code too short to name one place: "Pad 2", "LC-1", "Site 5".
_GENERIC_PAD = re.compile(r"^(?:pad|site|lc|lp|la|slc|launch (?:complex|pad|area)|area) ?\d$")
_INFO = {"agencies": "agency_info", "sites": "site_info", "vehicles": "vehicle_info"}
#: Location parts that are not countries, mapped to the country that launches there.
COUNTRIES = {
    "People's Republic of China": "China",
    "Russian Federation": "Russia",
    "Republic of Kazakhstan": "Kazakhstan",
    "Republic of India": "India",
    "Yellow Sea": "China",
    "Barents Sea": "Russia",
    "Pacific Ocean": "",
    "Gran Canaria": "Spain",
}
_ROMAN = re.compile(r"^(?:i|ii|iii|iv|v|vi|vii|viii|ix|x)$")


@dataclass(frozen=True, slots=True)
class Launch:
    """One row of a reference list, reduced to its names."""

    org: str
    vehicle: str
    mission: str
    location: str
    family: str = ""
    year: int | None = None


def read_launches(data: Path) -> list[Launch]:
    """Both reference lists as :class:`Launch` rows (the CSV first)."""
    root = data / "reference"
    launches: list[Launch] = []
    with (root / "launches-to-2023.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            vehicle, _, mission = row["Details"].partition("|")
            year = re.search(r"\b(19|20)\d\d\b", row["Datetime"])
            launches.append(
                Launch(
                    row["Organization"],
                    vehicle.strip(),
                    mission.strip(),
                    row["Location"],
                    year=int(year.group()) if year else None,
                )
            )
    for rec in json.loads((root / "ll2_launches.json").read_text(encoding="utf-8")):
        config = rec["rocket"]["configuration"]
        pad = rec.get("pad") or {}
        location = ", ".join(
            p for p in (pad.get("name", ""), (pad.get("location") or {}).get("name", "")) if p
        )
        mission = (rec.get("mission") or {}).get("name") or rec["name"].partition("|")[2]
        launches.append(
            Launch(
                rec["launch_service_provider"]["name"],
                config.get("full_name") or config["name"],
                mission.strip(),
                location,
                config.get("family") or "",
                int(rec["net"][:4]) if rec.get("net") else None,
            )
        )
    return launches


# --------------------------------------------------------------------------- words
#: Zipf frequency of a lower-case English word: 7 for "the", 3 for once per 10^5 words, 0 never.
Frequency = Callable[[str], float]


def english_frequency() -> Frequency:
    """Word frequencies from wordfreq (imported here: only this script needs it)."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:
        sys.exit("this script needs wordfreq: pip install -e '.[names]'")
    return lambda word: float(zipf_frequency(word, "en"))


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", normalize(name)) if w]


def all_common(name: str, zipf: Frequency, floor: float = COMMON_ZIPF) -> bool:
    """Every word of the name is an everyday word, a numeral or a lone letter."""
    return all(zipf(w) >= floor or _ROMAN.match(w) or len(w) <= 1 for w in _words(name))


def needs_qualifier(name: str, zipf: Frequency) -> bool:
    """A vehicle or agency name that prose uses for other things ("Juno II", "Black Arrow").

    A digit makes a name distinctive ("Delta 2914"); so does a word that is not everyday
    English ("Molniya"). Lone letters and Roman numerals do not count either way.
    """
    if _NUMBER_WORD.search(name):
        return False
    words = [w for w in _words(name) if not _ROMAN.match(w) and len(w) > 1]
    return bool(words) and all(zipf(w) >= COMMON_ZIPF for w in words)


# --------------------------------------------------------------------------- output model
@dataclass
class Entry:
    """One table entry being built; ``fields`` holds everything but the alias lists."""

    aliases: list[str] = field(default_factory=list)
    pads: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)

    def add(self, kind: str, name: str) -> None:
        values: list[str] = getattr(self, kind)
        if normalize(name) not in {normalize(v) for v in values}:
            values.append(name)


@dataclass
class Tables:
    vehicles: dict[str, Entry] = field(default_factory=dict)
    sites: dict[str, Entry] = field(default_factory=dict)
    agencies: dict[str, Entry] = field(default_factory=dict)
    missions: dict[str, Entry] = field(default_factory=dict)

    def entry(self, table: str, key: str) -> Entry:
        section: dict[str, Entry] = getattr(self, table)
        return section.setdefault(key, Entry())


# --------------------------------------------------------------------------- derivation
class Deriver:
    """Resolve reference names against the curated knowledge base and collect new ones."""

    def __init__(self, kb: KnowledgeBase, zipf: Frequency) -> None:
        self.kb = kb
        self.zipf = zipf
        self.out = Tables()
        #: Every (pad, site) the lists name, with the pad as first written.
        self._pad_names: dict[tuple[str, str], str] = {}
        self._known = {
            kind: {normalize(a) for a in aliases}
            for kind, aliases in (
                ("vehicles", [a for v in kb.vehicle_info.values() for a in v.aliases]),
                ("sites", [a for s in kb.site_info.values() for a in (*s.aliases, *s.pads)]),
                ("agencies", [a for g in kb.agency_info.values() for a in g.aliases]),
            )
        }

    # ---------------------------------------------------------------- agencies
    def agency(self, org: str) -> str:
        """The canonical agency for an organisation name, creating it when new."""
        outer = _PARENS.sub("", org).strip()
        inner = [m.group(1).strip() for m in _PARENS.finditer(org)]
        if outer in self.kb.agency_info:
            return outer
        for name in (outer, *inner):
            found = self._curated_prefix(name, "agency")
            if found:
                if normalize(outer) != normalize(found):
                    self._alias("agencies", found, outer)
                return found
        if outer in self.out.agencies:
            return outer
        entry = self.out.entry("agencies", outer)
        for name in inner:
            self._alias_new(entry, name)
        if len(normalize(outer).replace(" ", "")) <= 3 or needs_qualifier(outer, self.zipf):
            entry.fields["strict"] = True
        return outer

    # ---------------------------------------------------------------- sites
    def site(self, location: str) -> str | None:
        """The canonical site of a "pad, site, region, country" location; its pad is recorded."""
        parts = [p.strip() for p in location.split(",") if p.strip()]
        if not parts:
            return None
        country = COUNTRIES.get(parts[-1], parts[-1]) if len(parts) > 1 else ""
        resolved: tuple[int, str] | None = None
        for i, part in enumerate(parts):
            found = self.kb.canonical_site(part)
            hits = [h for h in self.kb.scan(normalize(part)) if h.kind == "site"]
            if found and any(h.tier == TIER_NAME for h in hits):
                resolved = (i, found)
                break
        if resolved is None:
            index = next((i for i, p in enumerate(parts) if i > 0 and SITE_WORD.search(p)), -1)
            if index < 0 and len(parts) >= 2:
                index = 1 if len(parts) > 2 else 0
            if index < 0:
                return None
            name = _PARENS.sub("", parts[index]).strip()
            if name not in self.kb.site_info:
                entry = self.out.entry("sites", name)
                entry.fields.setdefault("country", country)
            resolved = (index, name)
        index, site = resolved
        if index > 0:
            self._pad(site, parts[0])
        return site

    def _pad(self, site: str, pad: str) -> None:
        names = [_PARENS.sub("", pad).strip(), *(m.group(1) for m in _PARENS.finditer(pad))]
        for name in names:
            for piece in re.split(r"\s*/\s*(?=\D)|\s{2,}", name):
                piece = piece.strip()
                if _distinct_pad(piece):
                    self._pad_names.setdefault((normalize(piece), site), piece)

    # ---------------------------------------------------------------- vehicles
    def vehicle(self, name: str, family: str) -> str | None:
        """The canonical vehicle for a reference vehicle name, creating it when new."""
        clean = re.sub(r"\s*/\s*", "/", _PARENS.sub("", name)).strip()
        if not clean or clean.lower() in {"unknown", "?"}:
            return None
        exact = next((k for k in self.kb.vehicle_info if normalize(k) == normalize(clean)), None)
        found = exact or self._curated_prefix(clean, "vehicle")
        if found:
            self._alias("vehicles", found, clean)
            return found
        for key in self.out.vehicles:
            if normalize(key) == normalize(clean):
                return key
        entry = self.out.entry("vehicles", clean)
        entry.fields["family"] = family or _family(clean)
        if needs_qualifier(clean, self.zipf):
            entry.fields["strict"] = True
            entry.add("aliases", f"{clean} rocket")
        return clean

    # ---------------------------------------------------------------- missions
    def mission(self, text: str) -> list[tuple[str, str]]:
        """(template, example) for each payload name in a reference mission string."""
        head = _SERIAL.sub(" ", text.split(":", 1)[0])
        names = [_PARENS.sub("", head).strip(), *(m.group(1) for m in _PARENS.finditer(head))]
        found: list[tuple[str, str]] = []
        for name in names:
            for payload in _SPLIT_PAYLOADS.split(name):
                payload = _COUNT.sub("", payload).strip(" .-")
                series = self._series(payload)
                if series:
                    found.append(series)
        return found

    def _series(self, payload: str) -> tuple[str, str] | None:
        words = payload.split()
        while words and normalize(words[-1]) in NAME_SUFFIXES and len(words) > 1:
            words.pop()
        payload = " ".join(words)
        norm = normalize(payload)
        if len(norm.replace(" ", "")) < 4 or not norm[0].isalpha():
            return None
        if self.kb.find_missions(norm) or self._names_other(norm) or self._word(norm):
            return None
        m = _NUMBERED.match(payload)
        if m:
            base, value = m.group("base").strip(" -"), m.group("value")
            base_norm = normalize(base)
            if any(w in GENERIC_WORDS for w in base_norm.split()) or len(base_norm) < 3:
                return None
            if all_common(base, self.zipf, VERY_COMMON_ZIPF):
                return None  # "Program 7", "Galaxy 37": the number alone is not enough
            if self.kb.find_missions(base_norm) or self._names_other(base_norm):
                return None
            if self._word(base_norm):
                return None
            sep = "-" if "-" in m.group("sep") else " "
            placeholder = _placeholder(value)
            return f"{base}{sep}{{{placeholder}}}", payload
        if all_common(payload, self.zipf) or any(w in GENERIC_WORDS for w in norm.split()):
            return None
        if self.kb.scan(norm):
            return None  # "Starship Flight Test", "SpaceX CRS": a vehicle or agency plus words
        return payload, payload

    def _word(self, norm: str) -> bool:
        """Patterns let separators go ("CAS-H" matches "cash"): the joined form must not be
        an English word either."""
        joined = norm.replace(" ", "")
        return joined != norm and self.zipf(joined) >= COMMON_ZIPF

    def _vehicle_words(self) -> set[str]:
        """Every leading run of words of a vehicle name or alias: not a mission name."""
        names = [a for v in self.kb.vehicle_info.values() for a in (*v.aliases, v.family)]
        names += [n for key, e in self.out.vehicles.items() for n in (key, *e.aliases)]
        taken: set[str] = set()
        for name in names:
            words = normalize(name).split()
            taken.update(" ".join(words[:i]) for i in range(1, len(words) + 1))
        return taken

    def _names_other(self, norm: str) -> bool:
        """The whole name is already a vehicle, site or agency name of the curated tables."""
        return any(h.start == 0 and h.end == len(norm) for h in self.kb.scan(norm))

    # ---------------------------------------------------------------- helpers
    def _curated_prefix(self, name: str, kind: str) -> str | None:
        """The curated entry whose alias opens the name ("Atlas V 541" -> "Atlas V")."""
        norm = normalize(name)
        hits = [h for h in self.kb.scan(norm) if h.kind == kind and h.start == 0]
        if not hits:
            return None
        best = max(hits, key=lambda h: h.end)
        if best.end < len(norm) and len(norm[: best.end].replace(" ", "")) < 3:
            return None
        return best.name

    def _alias(self, table: str, key: str, alias: str) -> None:
        if normalize(alias) not in self._known[table]:
            self.out.entry(table, key).add("aliases", alias)

    def _alias_new(self, entry: Entry, alias: str) -> None:
        if alias and not all_common(alias, self.zipf) and len(normalize(alias)) > 3:
            entry.add("aliases", alias)

    # ---------------------------------------------------------------- driver
    def derive(self, launches: Iterable[Launch]) -> Tables:
        vehicle_orgs: dict[str, Counter[str]] = defaultdict(Counter)
        vehicle_years: dict[str, int] = {}
        vehicle_sites: dict[str, Counter[str | None]] = defaultdict(Counter)
        series_vehicles: dict[str, Counter[str | None]] = defaultdict(Counter)
        series_sites: dict[str, Counter[str | None]] = defaultdict(Counter)
        series_names: dict[str, set[str]] = defaultdict(set)
        for launch in launches:
            site = self.site(launch.location)
            org = self.agency(launch.org) if launch.org else None
            vehicle = self.vehicle(launch.vehicle, launch.family)
            if vehicle and vehicle in self.out.vehicles and org:
                vehicle_orgs[vehicle][org] += 1
                vehicle_sites[vehicle][site] += 1
                if launch.year:
                    vehicle_years[vehicle] = max(launch.year, vehicle_years.get(vehicle, 0))
            for template, example in self.mission(launch.mission):
                series_vehicles[template][vehicle] += 1
                series_sites[template][site] += 1
                series_names[template].add(normalize(example))
        for vehicle, orgs in vehicle_orgs.items():
            fields = self.out.vehicles[vehicle].fields
            fields["provider"] = orgs.most_common(1)[0][0]
            fields["site"] = _only(vehicle_sites[vehicle])
            fields["last_flight"] = vehicle_years.get(vehicle)
        sites_of_pad = Counter(pad for pad, _ in self._pad_names)
        for (pad, site), shown in sorted(self._pad_names.items()):
            if sites_of_pad[pad] == 1 and pad not in self._known["sites"]:
                self.out.entry("sites", site).add("pads", shown)
        taken = self._vehicle_words()
        for template, vehicles in series_vehicles.items():
            if normalize(template.split("{")[0]) in taken:
                continue  # "Ceres" would shadow the Ceres-1 rocket
            entry = self.out.entry("missions", template)
            entry.add("patterns", _pattern(template))
            flights = sum(vehicles.values())
            if "{" not in template and len(series_names[template]) == 1 and flights == 1:
                entry.fields["unique"] = True
            if flights >= 2:
                entry.fields["vehicle"] = _only(vehicles)
                entry.fields["site"] = _only(series_sites[template])
        self._family_names(series_names, taken)
        return self.out

    def _family_names(self, series_names: dict[str, set[str]], taken: set[str]) -> None:
        """A numbered series with three or more flights is also reported by its bare name
        ("China launches new Yaogan satellites"): add that name as a recurring one, unless
        it is an everyday word or already known."""
        for template, names in series_names.items():
            if "{" not in template or len(names) < 3:
                continue
            base = re.sub(r"[\s-]+$", "", template.split("{")[0])
            norm = normalize(base)
            if not norm or norm in taken or all_common(base, self.zipf) or self._word(norm):
                continue
            if self.kb.find_missions(norm) or self._names_other(norm):
                continue
            if base in self.out.missions:
                continue
            self.out.entry("missions", base).add("patterns", _pattern(base))


def _distinct_pad(name: str) -> bool:
    """A pad name worth matching: letters and digits, and more than a bare "Pad 2"."""
    norm = normalize(name)
    return bool(re.search(r"[a-z]", norm) and _NUMBER_WORD.search(norm)) and not (
        _GENERIC_PAD.match(norm) or len(norm) < 4
    )


def _only(counts: Counter[str | None]) -> str | None:
    """The one value every launch shares, else None."""
    if len(counts) != 1:
        return None
    return next(iter(counts))


def _placeholder(value: str) -> str:
    if value.isdigit():
        return "n"
    if re.fullmatch(r"\d{1,3}[\s-]+\d{1,3}", value):
        return "g"
    return "c"


def _pattern(template: str) -> str:
    """A mission pattern from a template: lower case, separators as spaces."""
    text = re.sub(r"[\s\-_'’]+", " ", template.lower()).strip()
    text = text.replace("(", "").replace(")", "")
    return re.sub(r"[\[\]]", "", text)


def _family(name: str) -> str:
    """The words of a vehicle name before its variant code ("Thor DM-21 Agena-B" -> "Thor")."""
    words: list[str] = []
    for word in re.split(r"[\s/]+", name):
        head, _, tail = word.partition("-")
        if _variant(head):
            break
        words.append(head if tail and _variant(tail) else word)
        if tail and _variant(tail):
            break
    return " ".join(words) or name


def _variant(word: str) -> bool:
    """A variant code rather than a name: digits, Roman numerals, capitals, one letter."""
    return bool(
        _NUMBER_WORD.search(word)
        or _ROMAN.match(word.lower())
        or len(word) <= 1
        or (word.isupper() and len(word) <= 4)
    )


# --------------------------------------------------------------------------- TOML output
HEADER = """\
# LaunchWatch knowledge base: REFERENCE NAMES (generated; do not edit by hand).
#
# Made by `python -m scripts.build_reference_names` from two public launch lists:
#   launches-to-2023.csv  6,574 launches to Aug 2023 (scrape of a launch-tracking site; names only)
#   ll2_launches.json     Launch Library 2 records by The Space Devs (via launch-library-rss, MIT)
# Same schema as the curated tables. An entry whose key the curated tables have only adds
# aliases (or pads, patterns) to it; every other field of a curated entry wins. Fix a wrong
# name in the curated tables (they override this file) or in the script, then rebuild.
"""


def render(tables: Tables, kb: KnowledgeBase) -> str:
    out = [HEADER]
    for table in ("agencies", "sites", "vehicles", "missions"):
        out.append(f"\n[{table}]")
        section: dict[str, Entry] = getattr(tables, table)
        # Missions are tried in file order: numbered series before bare names.
        for key in sorted(section, key=lambda k: ("{" not in k, normalize(k), k)):
            entry = section[key]
            curated = table in _INFO and key in getattr(kb, _INFO[table])
            items = {
                "aliases": entry.aliases,
                "pads": entry.pads,
                "patterns": entry.patterns,
                **{k: v for k, v in entry.fields.items() if v is not None and not curated},
            }
            if table != "missions":
                items.pop("patterns")
            else:
                items.pop("aliases")
            if table != "sites":
                items.pop("pads")
            body = ", ".join(
                f"{k} = {_toml(v)}"
                for k, v in items.items()
                if v or (k == "aliases" and not curated)
            )
            if not body:
                continue
            out.append(f"{_toml(key)} = {{ {body} }}")
    return "\n".join(out) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def build(data: Path, zipf: Frequency) -> str:
    kb = curated_knowledge()
    return render(Deriver(kb, zipf).derive(read_launches(data)), kb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    parser.add_argument("--data", type=Path, default=default, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="fail when --out is out of date")
    args = parser.parse_args(argv)
    if not (args.data / "reference").is_dir():
        print(f"no reference lists under {args.data}/reference: nothing to build", file=sys.stderr)
        return 2
    text = build(args.data, english_frequency())
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{args.out} is out of date: rebuild it")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    counts = {
        t: text.split(f"[{t}]")[1].split("\n[")[0].count(" = {")
        for t in ("agencies", "sites", "vehicles", "missions")
    }
    print(f"wrote {args.out}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
