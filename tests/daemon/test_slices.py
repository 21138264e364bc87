"""A long rollout shares the road: the daemon drains the queue in slices, handing the instance
to pulls and webhook pushes between two writes, so pulls keep their cadence under push load and
the queue still drains, each task written once."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select

from okrbridge.config.schema import ScheduleSettings
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import StatusCategory
from okrbridge.runtime.metrics import DaemonMetrics
from okrbridge.sandbox import SandboxServer, SeedTask
from okrbridge.scheduler import HealthBoard, Leases, SyncJobs, build_scheduler
from okrbridge.store.db import Store
from okrbridge.store.models import AuditEntry, SyncRunRow
from tests.support.memory import MemoryConnector, MemorySettings, MemoryTool
from tests.support.memory.tool import BOT
from tests.support.okr import okr_config

TASKS = 60
PULL = 2.0
JITTER = 0.5
WRITES_PER_MINUTE = 600  # 10 writes/s, 2 per task: the queue takes ~12 s to drain


@pytest.mark.parametrize("webhooks", [True, False], ids=["webhook-pushes", "pulls-only"])
def test_pulls_keep_their_cadence_while_a_long_queue_drains(store: Store, webhooks: bool) -> None:
    tool = MemoryTool()
    ids = [
        tool.add_task(SeedTask(f"task {n}", "MKT", StatusCategory.IN_PROGRESS, ("reviews",)))
        for n in range(TASKS)
    ]
    registry = ConnectorRegistry()
    registry.register(MemoryConnector)
    with SandboxServer(tool.app) as server:
        settings = MemorySettings(
            **tool.settings(server.url), write_budget_per_minute=WRITES_PER_MINUTE
        )
        schedule = ScheduleSettings(
            pull_interval=timedelta(seconds=PULL),
            jitter=timedelta(seconds=JITTER),
            drain_slice=timedelta(seconds=3),
        )
        config = okr_config("mem", settings).model_copy(update={"schedule": schedule})
        jobs = SyncJobs(
            config, store, registry, tool.env(), Leases(store, 3.0, owner="replica"),
            HealthBoard(["mem"]), DaemonMetrics(), threading.Event(),
        )  # fmt: skip
        scheduler = build_scheduler(jobs, ["mem"])
        scheduler.start()
        pushing = threading.Event()

        def push_load() -> None:  # a push every 0.3-0.9 s, as webhook bursts would cause
            rng = random.Random(7)
            while not pushing.wait(rng.uniform(0.3, 0.9)):
                jobs.push("mem")

        pusher = threading.Thread(target=push_load if webhooks else pushing.wait)
        pusher.start()
        try:
            deadline = time.monotonic() + 90
            while bot_comments(tool, ids) < TASKS and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(PULL)  # a pull after the drain: the last gap is measured too
        finally:
            pushing.set()
            pusher.join()
            jobs.stopping.set()
            scheduler.shutdown(wait=True)
    assert bot_comments(tool, ids) == TASKS, "the queue did not drain"
    for tid in ids:  # each task written once: one comment and its label, nothing twice
        assert len([c for c in tool.comments_of(tid) if c.author == BOT]) == 1
    assert tool.write_count() == 2 * TASKS
    with store.session() as session:
        pulls = list(
            session.scalars(
                select(SyncRunRow.started_at)
                .where(SyncRunRow.kind.in_(["incremental", "full"]))
                .order_by(SyncRunRow.started_at)
            )
        )
        made = list(session.scalars(select(AuditEntry.at).where(AuditEntry.phase == "made")))
        writers = set(session.scalars(select(SyncRunRow.kind).where(SyncRunRow.writes_made > 0)))
    first, last = min(made), max(made)
    assert (last - first).total_seconds() > 3 * PULL, "the drain was too short to prove much"
    during = [at for at in pulls if at <= last] + [next(at for at in pulls if at > last)]
    gaps = [(b - a).total_seconds() for a, b in pairwise(during)]
    # A pull is due every PULL (+ up to JITTER) seconds; one write and a retry may delay it.
    assert max(gaps) < PULL + JITTER + 1.5, gaps
    # Pulls wrote between slices; the rest went on in webhook pushes or follow-up drains.
    assert writers >= {"incremental", "push" if webhooks else "drain"}, writers


def bot_comments(tool: MemoryTool, ids: list[str]) -> int:
    return sum(1 for tid in ids for c in tool.comments_of(tid) if c.author == BOT)
