"""The daemon's sync jobs: incremental pull, full reconcile and push, one connector instance at a
time, each under the instance's lease so that one replica at a time syncs it."""

from __future__ import annotations

import enum
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from okrbridge.config.schema import Config
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import TaskRef
from okrbridge.logs import bound, get_logger
from okrbridge.runtime.metrics import DaemonMetrics
from okrbridge.scheduler.health import HealthBoard
from okrbridge.scheduler.lease import LeaseHold, Leases
from okrbridge.store.db import Store
from okrbridge.store.models import LeaseRow, SyncRunRow
from okrbridge.sync.lease import describe_holder, lease_name
from okrbridge.sync.runner import run_sync

__all__ = ["JobKind", "JobOutcome", "Stopped", "SyncJobs"]

log = get_logger(__name__)


class JobKind(str, enum.Enum):
    INCREMENTAL = "incremental"
    FULL = "full"
    PUSH = "push"


class JobOutcome(str, enum.Enum):
    RAN = "ran"
    BUSY = "busy"
    """Another holder has the instance's lease."""
    DONE_ELSEWHERE = "done_elsewhere"
    """Another replica ran this job within the current tick."""
    STOPPING = "stopping"


class Stopped(Exception):  # noqa: N818 - reads as an event, raised to stop between pages
    """Raised from the sync's progress hooks to end a run after its in-flight page/change."""


class _StopObserver:
    """Sync progress hooks that end the run, between committed pages and changes, when the
    daemon is stopping or the lease was lost."""

    def __init__(self, stopping: threading.Event, hold: LeaseHold) -> None:
        self.stopping, self.hold = stopping, hold

    def _check(self) -> None:
        if self.stopping.is_set():
            raise Stopped("daemon stopping")
        if self.hold.lost.is_set():
            raise Stopped("lease lost to another replica")

    def pull_started(self, instance: str, full: bool) -> None:
        self._check()

    def pull_page(self, instance: str, tasks: int) -> None:
        self._check()

    def push_progress(self, instance: str, done: int, total: int) -> None:
        self._check()


@dataclass
class SyncJobs:
    """Runs sync jobs for connector instances; safe to call from several threads."""

    config: Config
    store: Store
    registry: ConnectorRegistry
    env: Mapping[str, str]
    leases: Leases
    health: HealthBoard
    metrics: DaemonMetrics
    stopping: threading.Event

    def incremental(self, instance: str) -> JobOutcome:
        return self.run(instance, JobKind.INCREMENTAL)

    def full(self, instance: str) -> JobOutcome:
        return self.run(instance, JobKind.FULL)

    def push(self, instance: str, first: Sequence[TaskRef] = ()) -> JobOutcome:
        """The push after webhook events; the tasks in `first` are written before any other."""
        return self.run(instance, JobKind.PUSH, first)

    def run(self, instance: str, kind: JobKind, first: Sequence[TaskRef] = ()) -> JobOutcome:
        """Run one job unless another replica holds the instance or already ran it this tick."""
        if self.stopping.is_set():
            return JobOutcome.STOPPING
        with bound(connector=instance, job=f"{kind.value}:{instance}"):
            with self.leases.hold(f"sync:{instance}") as hold:
                if hold is None:
                    # At info: a pull that keeps finding the instance busy must be visible.
                    log.info("job skipped: instance busy", holder=self._holder(instance))
                    return JobOutcome.BUSY
                if self._ran_this_tick(instance, kind):
                    log.debug("job skipped: ran on another replica this tick")
                    return JobOutcome.DONE_ELSEWHERE
                self._sync(instance, kind, hold, first)
            return JobOutcome.RAN

    def _sync(
        self, instance: str, kind: JobKind, hold: LeaseHold, first: Sequence[TaskRef] = ()
    ) -> None:
        log.info("job started")
        report = run_sync(
            self.config,
            self.store,
            self.registry,
            full=kind is JobKind.FULL,
            only=[instance],
            env=self.env,
            pull=kind is not JobKind.PUSH,
            first=first,
            locked=True,  # this job holds `sync:<instance>`, the lease run_sync would take
            observer=_StopObserver(self.stopping, hold),
        )
        for item in report.connectors:
            self.metrics.record_run(kind.value, item)
            if self.stopping.is_set() or hold.lost.is_set():
                log.info("job interrupted", run_id=item.run_id, reason=item.error)
                continue
            if item.ok:
                self.health[instance].success()
            else:
                self.health[instance].failure(item.error or "failed")
            log.info(
                "job finished",
                ok=item.ok,
                run_id=item.run_id,
                pulled=item.pulled,
                changed=item.changed,
                writes=item.writes_made,
                pending=item.writes_pending,
                error=item.error,
            )

    def _holder(self, instance: str) -> str:
        """Who holds the instance's lease (host, pid, since), as far as the store says."""
        with self.store.session() as session:
            holder = session.scalar(
                select(LeaseRow.holder).where(LeaseRow.name == lease_name(instance))
            )
        return "unknown (released meanwhile)" if holder is None else describe_holder(holder)

    def _ran_this_tick(self, instance: str, kind: JobKind) -> bool:
        """True when a run of this kind started less than one interval (minus slack) ago.

        Replicas fire on their own clocks; whoever takes the lease first in a tick runs the job
        and the others, taking the lease after it, see its run here and skip.
        """
        if kind is JobKind.PUSH:
            return False
        schedule = self.config.schedule
        interval = schedule.full_interval if kind is JobKind.FULL else schedule.pull_interval
        kinds = ["full"] if kind is JobKind.FULL else ["incremental", "full"]
        slack = min(interval / 2, schedule.jitter + interval / 10)
        since = datetime.now(UTC) - (interval - slack)
        with self.store.session() as session:
            last = session.scalar(
                select(func.max(SyncRunRow.started_at)).where(
                    SyncRunRow.connector == instance,
                    SyncRunRow.kind.in_(kinds),
                    SyncRunRow.dry_run.is_(False),
                )
            )
        return last is not None and last > since


def lease_ttl(pull_interval: timedelta) -> float:
    """How long a lease lives without renewal: twice the pull interval, within 3 s .. 60 s."""
    return min(60.0, max(3.0, 2 * pull_interval.total_seconds()))
