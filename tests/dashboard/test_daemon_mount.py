"""The daemon's app includes the dashboard through `okrbridge.web.dashboard.router(state)`."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from okrbridge.runtime.inbox_writer import InboxWriter
from okrbridge.runtime.metrics import DaemonMetrics
from okrbridge.scheduler.health import HealthBoard
from okrbridge.web import WebState, create_app
from okrbridge.web.dashboard.auth import TOKEN_ENV
from tests.dashboard.html import Page
from tests.dashboard.seed import Seeded


def daemon_app(seeded: Seeded) -> TestClient:
    store = seeded.store
    state = WebState(
        seeded.config,
        store,
        {},
        InboxWriter(store, on_stored=lambda: None),
        DaemonMetrics(store),
        HealthBoard(list(seeded.config.connectors)),
    )
    return TestClient(create_app(state))


def test_daemon_serves_the_dashboard_beside_its_probes(sqlite_seeded: Seeded) -> None:
    with daemon_app(sqlite_seeded) as client:
        page = Page(client.get("/").text)
        assert "Grow our new mobile game" in page.find("h2")[0].text
        assert client.get("/kr/kr-reviews").status_code == 200
        assert client.get("/connectors/jira-mkt").status_code == 200
        assert client.get("/healthz").json() == {"status": "ok"}
        paths = client.get("/openapi.json").json()["paths"]
        assert "/kr/{kr_id}" not in paths  # HTML pages stay out of the API schema


def test_daemon_dashboard_honours_the_token_from_env(
    sqlite_seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "daemon-dashboard-token")
    with daemon_app(sqlite_seeded) as client:
        assert client.get("/").status_code == 401
        assert client.get("/healthz").status_code == 200  # probes stay open
        headers = {"Authorization": "Bearer daemon-dashboard-token"}
        assert client.get("/", headers=headers).status_code == 200
