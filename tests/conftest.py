"""Suite-wide settings: the time limit of the long checks, the PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pgserver import PgCluster, Unavailable, start_cluster

SLOW_TEST_TIMEOUT = 1200  # seconds; the default for every other test is in pyproject.toml


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` get a longer time limit unless they set their own."""
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TEST_TIMEOUT))


# --------------------------------------------------------------------------- PostgreSQL

#: Set (CI sets it) to fail, instead of skip, when no PostgreSQL server can be started.
REQUIRE_POSTGRES = "LAUNCHWATCH_REQUIRE_POSTGRES"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL server for the whole run (started on first use)."""
    try:
        cluster = start_cluster()
    except Unavailable as exc:
        if os.environ.get(REQUIRE_POSTGRES):
            pytest.fail(f"{REQUIRE_POSTGRES} is set but {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A new, empty database on the suite's PostgreSQL server."""
    return pg_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a storage test's database lives: each such test runs on both backends."""
    if request.param == "sqlite":
        return str(tmp_path / "lw.db")
    return str(request.getfixturevalue("pg_url"))
