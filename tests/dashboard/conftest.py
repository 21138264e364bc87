from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.web.dashboard import DashboardAuth, create_dashboard_app
from tests.dashboard.seed import NOW, Seeded, seed

DASHBOARD_URL = "https://okr.example.test"


@pytest.fixture
def seeded(store: Store) -> Seeded:
    """The seeded store on SQLite and PostgreSQL (pages read through dialect-specific SQL)."""
    return seed(store, dashboard_url=DASHBOARD_URL)


@pytest.fixture
def sqlite_seeded(tmp_path: Path) -> Iterator[Seeded]:
    """The seeded store on SQLite only, for tests about HTTP rather than SQL."""
    store = Store(f"sqlite:///{tmp_path / 'dashboard.sqlite3'}")
    upgrade(store)
    yield seed(store, dashboard_url=DASHBOARD_URL)
    store.dispose()


def client_for(seeded: Seeded, auth: DashboardAuth | None = None) -> TestClient:
    app = create_dashboard_app(
        seeded.config, seeded.store, auth=auth or DashboardAuth(), clock=lambda: NOW
    )
    return TestClient(app)


@pytest.fixture
def client(seeded: Seeded) -> Iterator[TestClient]:
    with client_for(seeded) as test_client:
        yield test_client
