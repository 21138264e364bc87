"""Fixtures shared by every test area: store URLs over SQLite and PostgreSQL, migrated stores.

`db_url` is a plain URL string; on PostgreSQL it embeds the test's own schema in its
search_path, so it can be handed to a subprocess as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.store.testing import PG_URL_ENV, isolated_pg_url, test_pg_url

PG_SKIP_REASON = (
    f"PostgreSQL tests need {PG_URL_ENV}, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'okrbridge.sqlite3'}"
        return
    server = test_pg_url()
    if server is None:
        pytest.skip(PG_SKIP_REASON)
    with isolated_pg_url(server) as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store on `db_url`."""
    store = Store(db_url)
    upgrade(store)
    yield store
    store.dispose()
