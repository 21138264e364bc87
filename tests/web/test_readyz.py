"""Readiness that tells the truth: 503 when the store cannot be written (a write probe, not
just a ping) or when the scheduler has stopped beating; 200 otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select

from okrbridge.scheduler.health import PROBE_ROW, SchedulerHeartbeat
from okrbridge.store.db import Store
from okrbridge.store.models import LeaseRow
from tests.web.conftest import Web


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ready_writes_its_probe_row(web: Web) -> None:
    response = web.client.get("/readyz")
    assert (response.status_code, response.json()["status"]) == (200, "ready")
    with web.store.session() as session:
        assert session.scalar(select(LeaseRow.name).where(LeaseRow.name == PROBE_ROW))


def test_a_store_that_reads_but_cannot_be_written_is_not_ready(web: Web) -> None:
    if web.store.dialect != "sqlite":
        pytest.skip("made read-only with SQLite's query_only; the probe is the same on both")
    read_only = Store(str(web.store.engine.url))

    def query_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only = ON")

    event.listen(read_only.engine, "connect", query_only)
    web.state.store = read_only
    response = web.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["store"].startswith("store cannot be written: ")
    read_only.dispose()


def test_a_stuck_scheduler_is_not_ready(web: Web) -> None:
    clock = Clock()
    web.state.heartbeat = SchedulerHeartbeat(every=5, stale_after=30, clock=clock)
    assert web.client.get("/readyz").json()["scheduler"] == "ok"
    clock.now += 20
    web.state.heartbeat.beat()
    clock.now += 29
    assert web.client.get("/readyz").status_code == 200
    clock.now += 2  # 31 s without a beat
    response = web.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["scheduler"] == "scheduler stuck: no heartbeat for 31 s"
