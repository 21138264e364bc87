"""Three daemon replicas on one PostgreSQL database: each job once per tick, each delivery
applied once, and a replica killed mid-job is taken over after its lease expires."""

from __future__ import annotations

import itertools
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from okrbridge.domain import StatusCategory
from okrbridge.sandbox import Latency, SandboxServer, SeedTask
from okrbridge.store.db import Store
from okrbridge.store.models import LeaseRow, SyncRunRow
from okrbridge.store.testing import isolated_pg_url
from okrbridge.store.testing import test_pg_url as pg_server_url
from tests.conftest import PG_SKIP_REASON
from tests.daemon.process import DaemonProcess, write_config
from tests.daemon.test_daemon_process import applied_counts, inbox, signed, wait_for
from tests.support.memory import MemoryTool

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PULL = 2.0


@pytest.fixture
def pg_url() -> Iterator[str]:
    server = pg_server_url()
    if server is None:
        pytest.skip(PG_SKIP_REASON)
    with isolated_pg_url(server) as url:
        yield url


def runs(url: str) -> list[SyncRunRow]:
    store = Store(url)
    try:
        with store.session() as session:
            return list(session.scalars(select(SyncRunRow).order_by(SyncRunRow.started_at)))
    finally:
        store.dispose()


def lease_holder(url: str) -> tuple[str, datetime] | None:
    store = Store(url)
    try:
        with store.session() as session:
            row = session.get(LeaseRow, "sync:mem")
            return None if row is None else (row.holder, row.expires_at)
    finally:
        store.dispose()


def test_three_replicas_share_jobs_and_inbox(pg_url: str, tmp_path: Path) -> None:
    tool = MemoryTool()
    ids = [
        tool.add_task(SeedTask(f"t{n}", "MKT", StatusCategory.IN_PROGRESS, ("reviews",)))
        for n in range(60)
    ]
    with SandboxServer(tool.app) as server:
        config = write_config(
            tmp_path / "okrbridge.toml", tool_url=server.url, store_url=pg_url, pull=f"{PULL}s"
        )
        replicas = [DaemonProcess(config, tmp_path / f"r{i}.log") for i in range(3)]
        try:
            for replica in replicas:
                replica.wait_ready()
            sent = []
            for n in range(45):  # webhooks spread over all replicas
                headers, body = signed(f"R{n}", ids[n % 7])
                assert replicas[n % 3].post(headers, body).status_code == 202
                sent.append(f"R{n}")
            wait_for(lambda: all(inbox(pg_url).get(d) == "done" for d in sent), timeout=20)
            time.sleep(3 * PULL)
            _assert_once_per_tick(runs(pg_url))

            # Slow the tool down and change many tasks: the next pull+push takes seconds.
            server.latency = Latency(ms=150)
            for tid in ids[:40]:
                tool.set_status(tid, StatusCategory.TODO)
            # A run in progress and its lease, seen together (a run may end between two reads).
            held: list[tuple[str, datetime]] = []

            def job_with_lease() -> bool:
                holder = lease_holder(pg_url)
                if holder is None or _running(pg_url) is None:
                    return False
                held[:] = [holder]
                return True

            wait_for(job_with_lease, timeout=10)
            holder = held[0]
            victim = next(r for r in replicas if f":{r.proc.pid}:" in holder[0])
            victim.kill()
            killed_at = holder[1]  # the lease expires at most one ttl after its last renewal
            wait_for(lambda: _taken_over(pg_url, killed_at), timeout=25)
        finally:
            codes = [r.stop(signal.SIGTERM) for r in replicas if r.proc.poll() is None]
        assert codes == [0, 0]
    counts = applied_counts(*(r.output() for r in replicas))
    assert set(sent) <= set(counts)
    assert max(counts.values()) == 1
    assert sum("replicas share jobs" in r.output() for r in replicas) == 3


def _assert_once_per_tick(rows: list[SyncRunRow]) -> None:
    """Runs of the instance never overlap, and scheduled ones are about one interval apart."""
    assert len(rows) >= 3
    for before, after in itertools.pairwise(rows):
        assert before.finished_at is not None
        assert after.started_at >= before.finished_at, "two replicas synced at once"
    scheduled = [r for r in rows if r.kind in ("incremental", "full")]
    for before, after in itertools.pairwise(scheduled):
        gap = (after.started_at - before.started_at).total_seconds()
        assert gap >= PULL * 0.75, f"a pull ran twice in one tick ({gap:.2f}s apart)"


def _running(url: str) -> SyncRunRow | None:
    return next((r for r in runs(url) if r.status == "running"), None)


def _taken_over(url: str, expired_at: datetime) -> bool:
    """A run started after the dead holder's lease expired, and it finished ok."""
    return any(
        r.started_at >= expired_at and r.status == "ok" and r.kind != "push" for r in runs(url)
    )
