"""Health: per connector instance (last success, last error; a failure logged once, a
recovery once), the scheduler's heartbeat, and a write probe of the store for readiness."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table

from okrbridge.logs import get_logger
from okrbridge.store.db import Store
from okrbridge.store.models import LeaseRow
from okrbridge.store.repos._sql import upsert_insert

__all__ = ["PROBE_ROW", "ConnectorHealth", "HealthBoard", "SchedulerHeartbeat", "probe_write"]

log = get_logger(__name__)


@dataclass
class ConnectorHealth:
    """What the daemon knows about one connector instance's recent runs."""

    instance: str
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failing: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def success(self, *, now: datetime | None = None) -> None:
        with self._lock:
            recovered = self.failing
            self.failing = False
            self.last_success_at = now or datetime.now(UTC)
        if recovered:
            log.info("connector recovered", connector=self.instance)

    def failure(self, error: str, *, now: datetime | None = None) -> None:
        with self._lock:
            first = not self.failing
            self.failing = True
            self.last_error, self.last_error_at = error, now or datetime.now(UTC)
        if first:
            log.warning("connector failing", connector=self.instance, error=error)
        else:
            log.debug("connector still failing", connector=self.instance, error=error)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "ok": not self.failing,
                "last_success_at": _iso(self.last_success_at),
                "last_error": self.last_error,
                "last_error_at": _iso(self.last_error_at),
            }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


class HealthBoard:
    """The health objects of every configured instance, by name."""

    def __init__(self, instances: list[str]) -> None:
        self.by_instance = {name: ConnectorHealth(name) for name in instances}

    def __getitem__(self, instance: str) -> ConnectorHealth:
        return self.by_instance[instance]

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {name: health.as_dict() for name, health in self.by_instance.items()}


class SchedulerHeartbeat:
    """A tiny job the scheduler runs every `every` seconds (on an executor of its own, so busy
    sync jobs do not delay it): when it has not run for `stale_after` seconds, the scheduler
    is stuck (its thread died or hangs) and the process is not ready."""

    def __init__(
        self,
        every: float = 5.0,
        stale_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.every, self.stale_after, self.clock = every, stale_after, clock
        self.last = clock()  # counted from start-up: the first beat comes `every` later

    def beat(self) -> None:
        self.last = self.clock()

    def problem(self) -> str | None:
        """Why the scheduler is not healthy, or None."""
        silent = self.clock() - self.last
        if silent > self.stale_after:
            return f"scheduler stuck: no heartbeat for {silent:.0f} s"
        return None


PROBE_ROW = "readiness-probe"
"""The row of the `leases` table that readiness probes write (one row for every replica)."""


def probe_write(store: Store, holder: str) -> None:
    """Write and commit one small row: raises when the store cannot be written (read-only,
    disk full, locked past its timeout, a replica that cannot reach the primary)."""
    table: Table = LeaseRow.__table__  # type: ignore[assignment]
    now = datetime.now(UTC)
    with store.session() as session:
        stmt = upsert_insert(session, table).values(name=PROBE_ROW, holder=holder, expires_at=now)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.name], set_={"holder": holder, "expires_at": now}
            )
        )
