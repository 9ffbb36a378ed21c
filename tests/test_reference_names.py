"""The script that derives reference.toml from public launch lists, on lists written here.

The word frequencies are a small table of our own instead of the wordfreq package, so the
rules are tested on their own and the suite needs nothing the bot does not.
"""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path

import pytest

from handlers.matching.knowledge import (
    KnowledgeBase,
    curated_knowledge,
    curated_tables,
    normalize,
)
from scripts.build_reference_names import (
    Deriver,
    Launch,
    _family,
    needs_qualifier,
    read_launches,
    render,
)

#: Zipf frequencies of the everyday words these tests use; anything else is rare.
WORDS = {
    "black": 5.5, "arrow": 4.6, "lemon": 4.1, "tree": 5.0, "scout": 4.0, "hope": 5.4,
    "juno": 3.2, "cash": 4.6, "program": 5.4, "galaxy": 4.3, "space": 5.5, "test": 5.0,
}  # fmt: skip


def zipf(word: str) -> float:
    return WORDS.get(word, 1.0)


@pytest.fixture(scope="module")
def curated() -> KnowledgeBase:
    return curated_knowledge()


def _derive(curated: KnowledgeBase, *rows: Launch) -> str:
    return render(Deriver(curated, zipf).derive(rows), curated)


def _tables(text: str) -> dict[str, dict[str, dict[str, object]]]:
    return tomllib.loads(text)


def launch(vehicle: str, mission: str = "", *, org: str = "CASC", where: str = "", year=2020):
    location = where or "LC-3, Xichang Satellite Launch Center, China"
    return Launch(org, vehicle, mission, location, year=year)


def test_known_vehicles_gain_aliases_and_new_ones_become_entries(curated):
    tables = _tables(
        _derive(
            curated,
            launch("Atlas V 541", org="ULA", where="SLC-41, Cape Canaveral SFS, Florida, USA"),
            launch("Feng Bao 1", year=1980),
            launch("Feng Bao 1", year=1981),
        )
    )
    assert tables["vehicles"]["Atlas V"] == {"aliases": ["Atlas V 541"]}  # nothing else
    assert tables["vehicles"]["Feng Bao 1"] == {
        "aliases": [],
        "family": "Feng Bao",
        "provider": "CASC",
        "site": "Xichang Satellite Launch Center",
        "last_flight": 1981,
    }


def test_everyday_vehicle_names_match_only_when_qualified(curated):
    tables = _tables(_derive(curated, launch("Black Arrow", org="RAE"), launch("Juno II")))
    assert tables["vehicles"]["Black Arrow"]["strict"] is True
    assert tables["vehicles"]["Black Arrow"]["aliases"] == ["Black Arrow rocket"]
    assert tables["agencies"]["RAE"]["strict"] is True  # three letters: never matched bare
    kb = KnowledgeBase.from_tables({**curated_tables(), "reference": tables})
    assert kb.scan(normalize("a black arrow in the sky")) == []
    assert kb.canonical_vehicle("the Black Arrow rocket") == "Black Arrow"


@pytest.mark.parametrize(
    ("name", "qualified"),
    [("Black Arrow", True), ("Juno II", True), ("Delta 2914", False), ("Molniya", False),
     ("H-II", False)],
)  # fmt: skip
def test_needs_qualifier(name: str, qualified: bool) -> None:
    assert needs_qualifier(name, zipf) is qualified


@pytest.mark.parametrize(
    ("name", "family"),
    [("Thor DM-21 Agena-B", "Thor"), ("Feng Bao 1", "Feng Bao"), ("Atlas IIAS", "Atlas"),
     ("Mercury-Redstone", "Mercury-Redstone"), ("Vostok-2M", "Vostok")],
)  # fmt: skip
def test_family(name: str, family: str) -> None:
    assert _family(name) == family


def test_mission_names_become_series_and_everyday_words_are_dropped(curated):
    tables = _tables(
        _derive(
            curated,
            launch("Long March 2D", "Fengyun-3F"),
            launch("Long March 2D", "Fengyun-3G"),
            launch("Long March 3B", "Tiantong 1-02 & Others"),
            launch("Electron", "Lemon Tree", org="Rocket Lab"),
            launch("Long March 2C", "CAS-H"),
            launch("Long March 2C", "Program 7"),
            launch("Long March 2C", "Mengtian (CSS)"),
            launch("Long March 2C", "41 x Zorblat-1"),
        )
    )
    missions = tables["missions"]
    assert missions["Fengyun-{c}"] == {
        "patterns": ["fengyun {c}"],
        "vehicle": "Long March 2D",
        "site": "Xichang Satellite Launch Center",
    }
    assert missions["Tiantong {g}"] == {"patterns": ["tiantong {g}"]}
    assert missions["Mengtian"] == {"patterns": ["mengtian"], "unique": True}
    assert "Zorblat-{n}" in missions
    for dropped in ("Lemon Tree", "CAS-{c}", "CAS-H", "Program {n}", "CSS"):
        assert dropped not in missions


def test_a_mission_never_shadows_a_vehicle(curated):
    tables = _tables(_derive(curated, launch("Ceres-1", "Ceres"), launch("Ceres-1", "Ceres")))
    assert "Ceres" not in tables.get("missions", {})


def test_pads_are_kept_only_when_they_name_one_place(curated):
    tables = _tables(
        _derive(
            curated,
            launch("Long March 2C", where="Site 81/23, Baikonur Cosmodrome, Kazakhstan"),
            launch("Long March 2C", where="Pad 2, Baikonur Cosmodrome, Kazakhstan"),
            launch("Long March 2C", where="LC-77B, Xichang Satellite Launch Center, China"),
            launch("Long March 2C", where="LC-77B, Taiyuan Satellite Launch Center, China"),
        )
    )
    pads = tables["sites"]["Baikonur Cosmodrome"]["pads"]
    assert pads == ["Site 81/23"]  # "Pad 2" is too generic; "LC-77B" names two sites
    assert "Xichang Satellite Launch Center" not in tables["sites"]


def test_new_sites_and_agencies_are_created(curated):
    where = "K-84 Submarine, Barents Sea Launch Area, Barents Sea"
    tables = _tables(_derive(curated, launch("Shtil", org="SRC", where=where)))
    assert tables["sites"]["Barents Sea Launch Area"]["country"] == "Russia"
    assert tables["sites"]["Barents Sea Launch Area"]["pads"] == ["K-84 Submarine"]
    assert tables["vehicles"]["Shtil"]["provider"] == "SRC"


def test_read_launches_reads_both_lists(tmp_path: Path):
    ref = tmp_path / "reference"
    ref.mkdir()
    with (ref / "launches-to-2023.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["", "Organization", "Location", "Datetime", "Details", "Status"])
        writer.writerow(["0", "CASC", "LC-3, Xichang, China", "Thu Aug 03, 2023 03:47 UTC",
                         "Long March 3B/E | Zhongxing 9", "Active"])  # fmt: skip
    record = {
        "name": "Electron | Return to Sender",
        "net": "2020-11-20T02:20:00Z",
        "launch_service_provider": {"name": "Rocket Lab Ltd"},
        "rocket": {
            "configuration": {
                "name": "Electron",
                "full_name": "Electron/Curie",
                "family": "Electron",
            }
        },
        "mission": {"name": "Return to Sender"},
        "pad": {
            "name": "Rocket Lab Launch Complex 1A",
            "location": {"name": "Onenui Station, Mahia Peninsula, New Zealand"},
        },
    }
    (ref / "ll2_launches.json").write_text(json.dumps([record]))
    rows = read_launches(tmp_path)
    assert rows[0] == Launch("CASC", "Long March 3B/E", "Zhongxing 9", "LC-3, Xichang, China",
                             year=2023)  # fmt: skip
    assert rows[1].vehicle == "Electron/Curie"
    assert rows[1].year == 2020
    assert rows[1].location.startswith("Rocket Lab Launch Complex 1A, Onenui Station")


def test_the_rendered_table_loads_through_the_schema(curated):
    text = _derive(
        curated,
        launch("Feng Bao 1", "Fengyun-3F"),
        launch("Atlas V 541", "Galaxy 37 (G-37)", org="ULA"),
        launch("Black Arrow", "Prospero", org="RAE", where="LA-5B, Woomera, Australia"),
    )
    kb = KnowledgeBase.from_tables({**curated_tables(), "reference": tomllib.loads(text)})
    assert kb.canonical_mission("Prospero") == "Prospero"
    assert kb.canonical_site("LA-5B") == "Woomera"
