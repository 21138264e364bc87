"""Three daemon replicas (in-process: three `SyncJobs` with their own owner ids and engines) on
one PostgreSQL store with six connector instances: each instance is pulled once per tick, and
the write queues drain in slices taken by whichever replica holds the instance, with no row
written twice and every row written once."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from okrbridge.config.schema import Config, ScheduleSettings
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import MatchRule, StatusCategory
from okrbridge.runtime.metrics import DaemonMetrics
from okrbridge.sandbox import SandboxServer, SeedTask
from okrbridge.scheduler import HealthBoard, JobOutcome, Leases, SyncJobs
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.store.models import AuditEntry, PushQueueRow, SyncRunRow
from okrbridge.store.testing import isolated_pg_url
from okrbridge.store.testing import test_pg_url as pg_server_url
from tests.conftest import PG_SKIP_REASON
from tests.support.memory import MemoryConnector, MemorySettings, MemoryTool
from tests.support.memory.tool import BOT
from tests.support.okr import okr_config

pytestmark = pytest.mark.postgres

REPLICAS, INSTANCES, TASKS = 3, 6, 20
PULL = 3.0


@pytest.fixture
def pg_url() -> Iterator[str]:
    server = pg_server_url()
    if server is None:
        if os.environ.get("OKRBRIDGE_CI") == "1":  # CI must not go green without PostgreSQL
            pytest.fail(PG_SKIP_REASON)
        pytest.skip(PG_SKIP_REASON)
    with isolated_pg_url(server) as url:
        yield url


def config_for(urls: dict[str, str], tools: dict[str, MemoryTool]) -> Config:
    """Six memory instances feeding one initiative; a slow write budget (each queue takes
    several 1 s slices)."""
    connectors = {
        name: MemorySettings(**tools[name].settings(url), write_budget_per_minute=300)
        for name, url in urls.items()
    }
    first = next(iter(connectors))
    base = okr_config(first, connectors[first])
    initiative = base.initiatives[0].model_copy(
        update={"match": [MatchRule(connector=name, labels_any=["reviews"]) for name in urls]}
    )
    schedule = ScheduleSettings(
        pull_interval=timedelta(seconds=PULL),
        jitter=timedelta(0),
        drain_slice=timedelta(seconds=1),
    )
    return base.model_copy(
        update={"connectors": connectors, "initiatives": [initiative], "schedule": schedule}
    )


def test_three_replicas_serve_six_instances_once_per_tick_and_drain_without_overlap(
    pg_url: str,
) -> None:
    names = [f"mem{n}" for n in range(INSTANCES)]
    tools = {name: MemoryTool() for name in names}
    for tool in tools.values():
        for n in range(TASKS):
            tool.add_task(SeedTask(f"task {n}", "MKT", StatusCategory.IN_PROGRESS, ("reviews",)))
    registry = ConnectorRegistry()
    registry.register(MemoryConnector)
    env = next(iter(tools.values())).env()
    with ExitStack() as stack:
        urls = {name: stack.enter_context(SandboxServer(tools[name].app)).url for name in names}
        config = config_for(urls, tools)
        stores = [Store(pg_url) for _ in range(REPLICAS)]
        upgrade(stores[0])
        for store in stores:
            stack.callback(store.dispose)
        replicas = [
            SyncJobs(
                config,
                store,
                registry,
                env,
                Leases(store, 3.0, owner=f"replica-{n}"),
                HealthBoard(names),
                DaemonMetrics(),
                threading.Event(),
            )
            for n, store in enumerate(stores)
        ]
        pool = stack.enter_context(ThreadPoolExecutor(REPLICAS * INSTANCES))

        def tick() -> dict[str, Counter[JobOutcome]]:
            """Every replica fires every instance's pull at once, as their schedulers would."""
            futures = {
                (name, n): pool.submit(jobs.incremental, name)
                for n, jobs in enumerate(replicas)
                for name in names
            }
            outcomes: dict[str, Counter[JobOutcome]] = {name: Counter() for name in names}
            for (name, _), future in futures.items():
                outcomes[name][future.result(timeout=60)] += 1
            return outcomes

        first = tick()
        # Each instance pulled exactly once; the queue was planned and its first slice drained.
        assert all(counts[JobOutcome.RAN] == 1 for counts in first.values()), first
        assert pulls_per_instance(stores[0]) == dict.fromkeys(names, 1)
        assert queued(stores[0]) > 0, "the first slices drained everything: nothing to share"

        slices: Counter[int] = Counter()  # replica -> drain slices it ran
        deadline = time.monotonic() + 120
        while queued(stores[0]) and time.monotonic() < deadline:
            futures = {
                (n, name): pool.submit(jobs.drain, name)
                for n, jobs in enumerate(replicas)
                for name in names
            }
            for (n, _), future in futures.items():
                slices[n] += future.result(timeout=60) is JobOutcome.RAN
        assert queued(stores[0]) == 0, "the queues did not drain"
        assert len([n for n in slices if slices[n]]) >= 2, slices  # slices were spread

        time.sleep(max(0.0, PULL - 0.2))  # the next tick
        second = tick()
        assert all(counts[JobOutcome.RAN] == 1 for counts in second.values()), second
        assert pulls_per_instance(stores[0]) == dict.fromkeys(names, 2)

        with stores[0].session() as session:
            made = Counter(
                session.execute(
                    select(AuditEntry.connector, AuditEntry.task_id, AuditEntry.action).where(
                        AuditEntry.phase == "made"
                    )
                ).all()
            )
    assert set(made.values()) == {1}, "a queued write was made twice"
    for name, tool in tools.items():
        assert tool.write_count() == 2 * TASKS, name  # one label and one comment per task
        for n in range(1, TASKS + 1):
            tid = f"T{n}"
            assert len([c for c in tool.comments_of(tid) if c.author == BOT]) == 1
            assert any(label.startswith("okr:") for label in tool.labels_of(tid))


def pulls_per_instance(store: Store) -> dict[str, int]:
    with store.session() as session:
        return dict(
            session.execute(
                select(SyncRunRow.connector, func.count())
                .where(SyncRunRow.kind.in_(["incremental", "full"]))
                .group_by(SyncRunRow.connector)
            ).all()
        )


def queued(store: Store) -> int:
    with store.session() as session:
        query = select(func.count()).where(PushQueueRow.status.in_(["pending", "in_flight"]))
        return int(session.scalar(query) or 0)
