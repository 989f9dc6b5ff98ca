"""Fixtures shared by the store tests: every store test runs on both backends.

``store_at`` is where a store lives: a SQLite file in the test's temp dir, or a fresh
schema on the session's PostgreSQL server (tests/pg_server.py: started on loopback for
the run unless SUPERVISOR_TEST_PG_URL names one; never skipped when it cannot be).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pg_server

BACKENDS = ("sqlite", "postgres")


@pytest.fixture(scope="session")
def pg() -> Iterator[pg_server.PgServer]:
    try:
        server = pg_server.start()
    except pg_server.NoServer as err:
        pytest.fail(f"the PostgreSQL store tests need a server: {err}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """A store location (open it with ``Store.open``, as often as the test needs)."""
    if request.param == "sqlite":
        yield tmp_path / "s.db"
        return
    server: pg_server.PgServer = request.getfixturevalue("pg")
    url = pg_server.schema_url(server.url)
    yield url
    pg_server.drop_schema(server.url, url)
