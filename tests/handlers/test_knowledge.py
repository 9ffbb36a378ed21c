"""Knowledge base: loading, alias resolution, scanning, and the documented TOML format."""

from __future__ import annotations

import re
import tomllib

import pytest

from handlers.matching.knowledge import KnowledgeBase, default_knowledge, normalize


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return default_knowledge()


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Falcon 9", "Falcon 9"),
        ("falcon-9", "Falcon 9"),
        ("F9", "Falcon 9"),
        ("Chang Zheng 2F", "Long March 2F"),
        ("CZ-2F", "Long March 2F"),
        ("Long March-2F", "Long March 2F"),
        ("GSLV Mk III", "LVM3"),
        ("Soyuz 2.1a", "Soyuz-2.1a"),
        ("Space Launch System", "SLS"),
        ("Atlas 5", "Atlas V"),
        ("Jielong-3", "Smart Dragon 3"),
        ("Vega C", "Vega-C"),
        ("Alpha", "Firefly Alpha"),  # unambiguous family name
        ("the new Zhuque-3 rocket", "Zhuque-3"),
    ],
)
def test_canonical_vehicle(kb: KnowledgeBase, text: str, canonical: str) -> None:
    assert kb.canonical_vehicle(text) == canonical


@pytest.mark.parametrize("text", ["Falcon", "banana", "", "Spectrum of light"])
def test_canonical_vehicle_unknown_or_ambiguous(kb: KnowledgeBase, text: str) -> None:
    assert kb.canonical_vehicle(text) is None


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Baikonur", "Baikonur Cosmodrome"),
        ("Site 31/6 at Baikonur", "Baikonur Cosmodrome"),
        ("SLC-40", "Cape Canaveral SFS"),
        ("Space Launch Complex 40 at Cape Canaveral Space Force Station", "Cape Canaveral SFS"),
        ("pad 39A at Cape Canaveral", "Kennedy Space Center"),  # pad beats the town
        ("LC-39B", "Kennedy Space Center"),
        ("Vandenberg Space Force Base", "Vandenberg SFB"),
        ("SLC-4E", "Vandenberg SFB"),
        ("Kourou, French Guiana", "Guiana Space Centre"),
        ("Sriharikota", "Satish Dhawan Space Centre"),
        ("Mahia Peninsula", "Rocket Lab LC-1"),
        ("Boca Chica", "Starbase"),
        ("Andoya", "Andøya Spaceport"),
        ("California", "Vandenberg SFB"),  # region, used only when nothing better
    ],
)
def test_canonical_site(kb: KnowledgeBase, text: str, canonical: str) -> None:
    assert kb.canonical_site(text) == canonical


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("United Launch Alliance", "ULA"),
        ("European Space Agency", "ESA"),
        ("Roscosmos", "Roscosmos"),
        ("Indian Space Research Organisation", "ISRO"),
    ],
)
def test_canonical_agency(kb: KnowledgeBase, text: str, canonical: str) -> None:
    assert kb.canonical_agency(text) == canonical


@pytest.mark.parametrize(
    ("text", "mission"),
    [
        ("Crew-14", "Crew-14"),
        ("SpaceX Crew-9 mission", "Crew-9"),
        ("Artemis 3", "Artemis III"),
        ("Artemis III", "Artemis III"),
        ("Starlink Group 11-7", "Starlink 11-7"),
        ("Starlink 6-99", "Starlink 6-99"),
        ("Soyuz MS-30", "Soyuz MS-30"),
        ("Progress MS-40", "Progress MS-40"),
        ("Shenzhou-25", "Shenzhou-25"),
        ("Northrop Grumman CRS-30", "NG-30"),
        ("CRS NG-30", "NG-30"),
        ("SpaceX CRS-40", "CRS-40"),
        ("Sentinel-2D", "Sentinel-2D"),
        ("Transporter 19", "Transporter-19"),
        ("a batch of Starlink satellites", "Starlink"),
    ],
)
def test_canonical_mission(kb: KnowledgeBase, text: str, mission: str) -> None:
    assert kb.canonical_mission(text) == mission


def test_public_lists_are_sorted_canonical_names(kb: KnowledgeBase) -> None:
    for names in (kb.vehicles(), kb.sites(), kb.agencies()):
        assert names == sorted(names)
        assert len(names) == len(set(names))
    assert {"Falcon 9", "Long March 2F", "Soyuz-2.1a", "Electron"} <= set(kb.vehicles())
    assert {"Baikonur Cosmodrome", "Kennedy Space Center"} <= set(kb.sites())


def test_every_reference_in_the_shipped_kb_resolves(kb: KnowledgeBase) -> None:
    """Providers, default sites and mission facts must name existing entries."""
    for v in kb.vehicle_info.values():
        assert v.provider in kb.agency_info, v.name
        assert v.site is None or v.site in kb.site_info, v.name
    for s in kb.missions:
        assert s.vehicle is None or s.vehicle in kb.vehicle_info, s.template
        assert s.site is None or s.site in kb.site_info, s.template
        assert all(a in kb.agency_info for a in s.agencies), s.template


def test_one_line_addition_is_enough() -> None:
    """The documented one-line format adds a rocket with no code change."""
    tables = {
        "vehicles": tomllib.loads(
            '[vehicles]\n"Skylark 9" = { aliases = ["SK-9"], family = "Skylark", '
            'provider = "Acme Rockets" }\n'
        ),
        "agencies": tomllib.loads('[agencies]\n"Acme Rockets" = { country = "Nowhere" }\n'),
    }
    kb = KnowledgeBase.from_tables(tables)
    assert kb.canonical_vehicle("sk-9") == "Skylark 9"
    assert kb.vehicles() == ["Skylark 9"]
    assert kb.canonical_agency("acme rockets") == "Acme Rockets"


def test_strict_entries_need_a_qualified_alias() -> None:
    tables = {
        "vehicles": tomllib.loads(
            '[vehicles]\n"Beta" = { aliases = ["Beta rocket"], family = "Beta", '
            'provider = "X", strict = true }\n'
        ),
        "agencies": {"X": {}},
    }
    kb = KnowledgeBase.from_tables(tables)
    hits = kb.scan(normalize("beta testers love the beta rocket"))
    assert [(h.name, h.start) for h in hits] == [("Beta", len("beta testers love the "))]


def test_scan_respects_word_boundaries(kb: KnowledgeBase) -> None:
    names = [h.name for h in kb.scan(normalize("The Electronics show; H3PO4 acid"))]
    assert "Electron" not in names
    assert "H3" not in names


def test_normalize_folds_spelling() -> None:
    assert normalize("Rocket Lab’s  Electron—F9_x") == "rocket lab electron f9 x"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Long March 3A", "Long March 3A"),
        ("H-IIB", "H-IIB"),
        ("Minotaur I", "Minotaur I"),
        ("Minotaur IV", "Minotaur IV"),
        ("Delta IV Medium+", "Delta IV Medium"),
        ("Dnepr", "Dnepr"),
        ("Jielong-1", "Smart Dragon 1"),
        ("Vikram-S", "Vikram-S"),
        ("Soyuz FG", "Soyuz-FG"),
        ("Space Shuttle Atlantis", "Space Shuttle"),
        ("a Black Brant IX sounding rocket", "Black Brant"),
        ("Terrier-Orion", "Terrier-Improved Orion"),
        ("HANBIT-Nano", "Hanbit-Nano"),
    ],
)
def test_added_vehicles_resolve(kb: KnowledgeBase, text: str, canonical: str) -> None:
    assert kb.canonical_vehicle(text) == canonical


def test_shared_pad_code_goes_to_the_site_named_with_it(kb: KnowledgeBase) -> None:
    assert kb.canonical_site("LC-16, Cape Canaveral SFS, Florida") == "Cape Canaveral SFS"
    assert kb.canonical_site("LC-16, Taiyuan Satellite Launch Center") == (
        "Taiyuan Satellite Launch Center"
    )
    assert kb.canonical_site("LC-2, Xichang Satellite Launch Center") == (
        "Xichang Satellite Launch Center"
    )
    assert kb.canonical_site("Pad 39A at Cape Canaveral") == "Kennedy Space Center"


def test_single_site_vehicles_name_a_known_site(kb: KnowledgeBase) -> None:
    for vehicle in kb.vehicle_info.values():
        assert vehicle.site is None or vehicle.site in kb.site_info, vehicle.name


TINY = {
    "vehicles": {"Electron": {"aliases": ["Electron rocket"], "provider": "Rocket Lab"}},
    "sites": {"Mahia": {"country": "NZ", "pads": ["LC-1A"]}},
    "agencies": {"Rocket Lab": {"country": "US"}},
    "missions": {"Flight {n}": {"patterns": ["flight (?P<n>\\d+)"], "vehicle": "Electron"}},
}


def _with(table: str, key: str, **fields: object) -> dict[str, dict[str, object]]:
    tables: dict[str, dict[str, object]] = {t: dict(v) for t, v in TINY.items()}
    entry = dict(tables[table][key])  # type: ignore[arg-type]
    entry.update(fields)
    tables[table][key] = entry
    return tables


def test_a_tiny_knowledge_base_loads_through_the_schema():
    kb = KnowledgeBase.from_tables(TINY)
    assert kb.canonical_vehicle("electron rocket") == "Electron"


@pytest.mark.parametrize(
    ("table", "key", "fields", "message"),
    [
        ("vehicles", "Electron", {"alias": ["E"]}, "vehicles.'Electron': alias: Extra inputs"),
        ("vehicles", "Electron", {"crewed": "yes"}, "vehicles.'Electron': crewed"),
        ("vehicles", "Electron", {"kind": "orbitall"}, "vehicles.'Electron': kind"),
        ("sites", "Mahia", {"pad": ["LC-1B"]}, "sites.'Mahia': pad: Extra inputs"),
        ("missions", "Flight {n}", {"patterns": []}, "missions.'Flight {n}': patterns"),
        ("vehicles", "Electron", {"site": "Mahai"}, "site 'Mahai' is not in sites"),
        ("missions", "Flight {n}", {"vehicle": "Electrn"}, "vehicle 'Electrn' is not in vehicles"),
    ],
    ids=[
        "typo-key",
        "wrong-type",
        "unknown-kind",
        "site-typo",
        "no-pattern",
        "bad-ref",
        "bad-ref-2",
    ],
)
def test_a_typo_in_the_knowledge_base_is_an_error(table, key, fields, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        KnowledgeBase.from_tables(_with(table, key, **fields))


# --------------------------------------------------------------------------- reference names
def _with_reference(reference: dict[str, object]) -> KnowledgeBase:
    return KnowledgeBase.from_tables({**TINY, "reference": reference})


def test_reference_names_add_aliases_but_never_override_a_curated_entry():
    kb = _with_reference(
        {
            "vehicles": {
                "Electron": {"aliases": ["Electron/Curie"], "provider": "Somebody Else"},
                "Thor DM-21 Agena-B": {"family": "Thor", "last_flight": 1962},
            },
            "sites": {"Mahia": {"pads": ["LC-1B"]}},
        }
    )
    assert kb.canonical_vehicle("Electron/Curie") == "Electron"
    assert kb.vehicle_info["Electron"].provider == "Rocket Lab"  # the curated field stands
    assert kb.canonical_vehicle("a Thor DM-21 Agena-B") == "Thor DM-21 Agena-B"
    assert kb.vehicle_info["Thor DM-21 Agena-B"].last_flight == 1962
    assert kb.canonical_site("pad LC-1B") == "Mahia"


def test_a_typo_in_the_reference_names_is_an_error():
    with pytest.raises(ValueError, match=re.escape("vehicles.'Thor': alias: Extra inputs")):
        _with_reference({"vehicles": {"Thor": {"alias": ["Thor rocket"]}}})
    with pytest.raises(ValueError, match="provider 'Nobody' is not in agencies"):
        _with_reference({"vehicles": {"Thor": {"provider": "Nobody"}}})


def test_reference_missions_come_after_the_curated_ones():
    kb = _with_reference({"missions": {"Flight Deck {n}": {"patterns": ["flight deck {n}"]}}})
    assert [m.template for m in kb.missions] == ["Flight {n}", "Flight Deck {n}"]


def test_retired_vehicles_do_not_make_a_launch_provider():
    kb = KnowledgeBase.from_tables(
        {
            **TINY,
            "agencies": {"Rocket Lab": {"country": "US"}, "ESA": {"country": "EU"}},
            "reference": {"vehicles": {"Ariane 1": {"provider": "ESA", "last_flight": 1986}}},
        }
    )
    assert kb.active_providers(since=2015) == {"Rocket Lab"}
    assert kb.active_providers(since=1980) == {"Rocket Lab", "ESA"}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("fengyun 3f lifts off", "Fengyun-3F"),
        ("fengyun3f", "Fengyun-3F"),
        ("fengyun 12", "Fengyun-12"),
        ("fengyun h", None),  # a code placeholder needs its digits
        ("ffengyun 3", None),  # a series name starts on a word boundary
    ],
)
def test_code_placeholder_needs_a_number(text: str, found: str | None) -> None:
    kb = _with_reference({"missions": {"Fengyun-{c}": {"patterns": ["fengyun {c}"]}}})
    hits = kb.find_missions(normalize(text))
    assert (hits[0].name if hits else None) == found


def test_the_shipped_knowledge_includes_the_reference_names(kb: KnowledgeBase) -> None:
    """Names only the public launch lists know resolve in the shipped knowledge base."""
    assert kb.canonical_vehicle("Long March 2E") == "Long March 2E"
    assert kb.canonical_vehicle("Atlas V 541") == "Atlas V"
    assert kb.canonical_mission("Mengtian module") == "Mengtian"
    assert kb.canonical_site("Site 81/23") == "Baikonur Cosmodrome"
    # Everyday words stay out: no mission "Lemon Tree", no bare "Black Arrow" rocket.
    assert kb.canonical_mission("a lemon tree") is None
    assert kb.scan(normalize("a black arrow")) == []
    assert kb.canonical_mission("cash reserves") is None


@pytest.mark.parametrize(
    ("text", "mission"),
    [
        ("Psyche launch slips a week", "Psyche"),
        ("Galaxy 41 set to launch", "Galaxy 41"),
        ("Electron lofts NASA TROPICS cubesats", "TROPICS"),
        ("storms over the tropics", None),  # the English word stays a word
        ("a galaxy far away", None),
    ],
)
def test_mission_names_that_are_also_words(kb: KnowledgeBase, text: str, mission: str | None):
    assert kb.canonical_mission(text) == mission
