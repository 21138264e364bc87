"""Sync jobs under leases: one holder at a time, once per tick, takeover after expiry."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from structlog.testing import capture_logs

from okrbridge.config.schema import ScheduleSettings
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import StatusCategory
from okrbridge.runtime.metrics import DaemonMetrics
from okrbridge.sandbox import SandboxServer, SeedTask
from okrbridge.scheduler import Debouncer, HealthBoard, JobOutcome, Leases, SyncJobs
from okrbridge.store.db import Store
from okrbridge.store.models import SyncRunRow
from okrbridge.store.repos.leases import acquire_lease
from tests.support.memory import MemoryConnector, MemorySettings, MemoryTool
from tests.support.okr import okr_config


@pytest.fixture
def tool_url() -> Iterator[tuple[MemoryTool, str]]:
    tool = MemoryTool()
    tool.add_task(SeedTask("t", "MKT", StatusCategory.IN_PROGRESS, ("reviews",)))
    with SandboxServer(tool.app) as server:
        yield tool, server.url


def make_jobs(store: Store, tool: MemoryTool, url: str, owner: str, pull: float = 60) -> SyncJobs:
    registry = ConnectorRegistry()
    registry.register(MemoryConnector)
    config = okr_config("mem", MemorySettings(**tool.settings(url))).model_copy(
        update={"schedule": ScheduleSettings(pull_interval=timedelta(seconds=pull), jitter=0)}
    )
    return SyncJobs(
        config, store, registry, tool.env(), Leases(store, 1.0, owner=owner),
        HealthBoard(["mem"]), DaemonMetrics(), threading.Event(),
    )  # fmt: skip


def runs(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(select(SyncRunRow.kind).order_by(SyncRunRow.id)))


def test_a_job_runs_once_per_tick_across_replicas(
    store: Store, tool_url: tuple[MemoryTool, str]
) -> None:
    tool, url = tool_url
    a, b = (make_jobs(store, tool, url, name) for name in ("a", "b"))
    assert a.incremental("mem") is JobOutcome.RAN
    assert b.incremental("mem") is JobOutcome.DONE_ELSEWHERE
    assert a.incremental("mem") is JobOutcome.DONE_ELSEWHERE
    assert b.push("mem") is JobOutcome.RAN  # pushes are not per tick: every trigger counts
    assert runs(store) == ["full", "push"]  # the first pull of an instance is a full pass
    assert "okr:" in " ".join(tool.labels_of("T1"))


def test_a_held_lease_makes_others_wait_until_it_expires(
    store: Store, tool_url: tuple[MemoryTool, str]
) -> None:
    tool, url = tool_url
    jobs = make_jobs(store, tool, url, "b", pull=1)  # waits 1 s for a busy instance
    with store.session() as session:  # a replica that took the lease and died
        assert acquire_lease(session, "sync:mem", "dead-replica", 2.5)
    with capture_logs() as logs:
        assert jobs.incremental("mem") is JobOutcome.BUSY
    skipped = [e for e in logs if e["event"] == "job skipped: instance busy"]
    assert [e["log_level"] for e in skipped] == ["info"]
    assert skipped[0]["holder"] == "dead-replica"  # not host:pid:...: shown as it is
    assert runs(store) == []
    time.sleep(0.5)  # the lease expires while the next job waits for it
    assert jobs.incremental("mem") is JobOutcome.RAN
    assert runs(store) == ["full"]


def test_the_lease_is_renewed_while_a_job_runs(store: Store) -> None:
    leases, other = Leases(store, 0.5, owner="a"), Leases(store, 0.5, owner="b")
    with leases.hold("sync:x") as held:
        assert held is not None
        time.sleep(1.2)  # more than twice the ttl: only renewal keeps it
        with other.hold("sync:x") as stolen:
            assert stolen is None
        assert not held.lost.is_set()
    with other.hold("sync:x") as taken:  # released at the end
        assert taken is not None


def test_a_stopping_daemon_starts_no_job(store: Store, tool_url: tuple[MemoryTool, str]) -> None:
    tool, url = tool_url
    jobs = make_jobs(store, tool, url, "a")
    jobs.stopping.set()
    assert jobs.incremental("mem") is JobOutcome.STOPPING
    assert runs(store) == []


def test_health_logs_a_failure_once_and_a_recovery_once() -> None:
    from structlog.testing import capture_logs

    health = HealthBoard(["mem"])["mem"]
    with capture_logs() as logs:
        for _ in range(3):
            health.failure("boom")
        health.success()
        health.success()
    loud = [e["event"] for e in logs if e["log_level"] in ("warning", "info")]
    assert loud == ["connector failing", "connector recovered"]
    assert health.as_dict()["ok"] is True
    assert health.as_dict()["last_error"] == "boom"


def test_debouncer_coalesces_a_burst_into_one_push() -> None:
    scheduler = BackgroundScheduler()
    scheduler.start()
    fired: list[str] = []
    done = threading.Event()

    def push(instance: str) -> JobOutcome:
        fired.append(instance)
        done.set()
        return JobOutcome.RAN

    try:
        debouncer = Debouncer(scheduler, timedelta(seconds=0.3), push)
        for _ in range(20):
            debouncer.trigger("mem")
        assert debouncer.pending() == {"mem"}
        assert done.wait(3)
        time.sleep(0.5)
        assert fired == ["mem"]
        debouncer.trigger("mem")  # a later event schedules a new push
        time.sleep(0.8)
        assert fired == ["mem", "mem"]
    finally:
        scheduler.shutdown()
