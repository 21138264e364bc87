"""The daemon's sync jobs: incremental pull, full reconcile, push and drain, one connector
instance at a time, each under the instance's lease so that one replica at a time syncs it.

A long write queue (a first rollout of hours) is drained in slices: every job's drain pauses
after `schedule.drain_slice`, or at once when another job waits for the instance, and a
follow-up `drain` job goes on from there. A job that finds the instance busy says that it
waits (`okrbridge.store.repos.leases.mark_waiting`) and tries again for a while, so a pull or
a webhook push waits for at most about one write of a rollout, on one replica or several.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from okrbridge.config.schema import Config
from okrbridge.connector.pacing import TokenBucket
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import TaskRef
from okrbridge.logs import bound, get_logger
from okrbridge.runtime.metrics import DaemonMetrics
from okrbridge.scheduler.health import HealthBoard
from okrbridge.scheduler.lease import LeaseHold, Leases
from okrbridge.store.db import Store
from okrbridge.store.models import LeaseRow, SyncRunRow
from okrbridge.store.repos.leases import mark_waiting, someone_waits, unmark_waiting
from okrbridge.sync.drain import DrainBound, budget_per_minute
from okrbridge.sync.lease import describe_holder, lease_name
from okrbridge.sync.runner import ConnectorReport, run_sync
from okrbridge.sync.slice import drain_slice

__all__ = ["JobKind", "JobOutcome", "Stopped", "SyncJobs"]

log = get_logger(__name__)


class JobKind(str, enum.Enum):
    INCREMENTAL = "incremental"
    FULL = "full"
    PUSH = "push"
    DRAIN = "drain"
    """Go on with a queue an earlier job's drain left (no pull, no planning)."""


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


RETRY_SECONDS = 0.25
"""How often a job waiting for a busy instance tries its lease again."""
PULL_SHARE = 0.8
"""A pull job's own drain ends this far into its interval; follow-up slices go on."""
YIELD_CHECK_SECONDS = 0.1
"""How often, at most, a drain looks for jobs waiting for its instance."""


class _Waiters:
    """A drain's yield check: does another job wait for the lease? (Asked at most every
    `YIELD_CHECK_SECONDS`; a store that cannot answer counts as nobody waiting.)"""

    def __init__(self, store: Store, name: str) -> None:
        self.store, self.name = store, name
        self.next_check = 0.0

    def __call__(self) -> bool:
        now = time.monotonic()
        if now < self.next_check:
            return False
        self.next_check = now + YIELD_CHECK_SECONDS
        try:
            with self.store.session() as session:
                return someone_waits(session, self.name)
        except Exception as exc:
            log.warning("could not look for waiting jobs", lease=self.name, error=str(exc))
            return False


@dataclass
class SyncJobs:
    """Runs sync jobs for connector instances; safe to call from several threads.

    `follow_up(instance)` is called when a job left writes queued at its drain's bound: the
    scheduler runs `drain(instance)` shortly after (`okrbridge.scheduler.service.FollowUps`).
    """

    config: Config
    store: Store
    registry: ConnectorRegistry
    env: Mapping[str, str]
    leases: Leases
    health: HealthBoard
    metrics: DaemonMetrics
    stopping: threading.Event
    follow_up: Callable[[str], None] | None = None
    _budgets: dict[str, TokenBucket] = field(default_factory=dict, repr=False)
    _budgets_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def slice_seconds(self) -> float:
        return self.config.schedule.drain_slice.total_seconds()

    @property
    def lease_wait(self) -> float:
        """How long a pull or push waits for a busy instance before it is skipped: a drain
        hands over within one write, a pull of another replica may take longer."""
        return min(self.slice_seconds, self.config.schedule.pull_interval.total_seconds())

    def incremental(self, instance: str) -> JobOutcome:
        return self.run(instance, JobKind.INCREMENTAL)

    def full(self, instance: str) -> JobOutcome:
        return self.run(instance, JobKind.FULL)

    def push(self, instance: str, first: Sequence[TaskRef] = ()) -> JobOutcome:
        """The push after webhook events; the tasks in `first` are written before any other."""
        return self.run(instance, JobKind.PUSH, first)

    def drain(self, instance: str) -> JobOutcome:
        """One more slice of the instance's queue (after a job whose drain paused)."""
        return self.run(instance, JobKind.DRAIN)

    def run(self, instance: str, kind: JobKind, first: Sequence[TaskRef] = ()) -> JobOutcome:
        """Run one job unless another replica already ran it this tick, or holds the instance
        for longer than `lease_wait` (a drain job does not wait: whoever holds the instance
        drains its queue)."""
        if self.stopping.is_set():
            return JobOutcome.STOPPING
        name, fired = lease_name(instance), time.monotonic()
        with bound(connector=instance, job=f"{kind.value}:{instance}"):
            if self._ran_this_tick(instance, kind):  # (started elsewhere, maybe still running)
                log.debug("job skipped: ran on another replica this tick")
                return JobOutcome.DONE_ELSEWHERE
            if kind is JobKind.DRAIN and self._waited_for(name):
                self._follow_up(instance)  # after the waiting job had its turn
                return JobOutcome.BUSY
            give_up = time.monotonic() + (0.0 if kind is JobKind.DRAIN else self.lease_wait)
            waiter: str | None = None
            try:
                while True:
                    with self.leases.hold(name) as hold:
                        if hold is not None:
                            if waiter is not None:
                                self._unmark(name, waiter)
                                waiter = None
                            if self._ran_this_tick(instance, kind):
                                log.debug("job skipped: ran on another replica this tick")
                                return JobOutcome.DONE_ELSEWHERE
                            self._sync(instance, kind, hold, fired, first)
                            return JobOutcome.RAN
                    if time.monotonic() >= give_up or self.stopping.is_set():
                        break
                    if self._ran_this_tick(instance, kind):  # the holder runs this tick's
                        log.debug("job skipped: ran on another replica this tick")
                        return JobOutcome.DONE_ELSEWHERE
                    if waiter is None:
                        waiter = self._mark(name, give_up - time.monotonic())
                    self.stopping.wait(RETRY_SECONDS)
            finally:
                if waiter is not None:
                    self._unmark(name, waiter)
            if kind is not JobKind.DRAIN:
                # At info: a pull that keeps finding the instance busy must be visible.
                log.info("job skipped: instance busy", holder=self._holder(instance))
            return JobOutcome.BUSY

    def _mark(self, name: str, seconds: float) -> str | None:
        waiter = f"{self.leases.owner}:{threading.get_ident()}"
        try:
            with self.store.session() as session:
                mark_waiting(session, name, waiter, seconds + 2 * RETRY_SECONDS)
        except Exception as exc:  # then the holder hands over at its slice's end
            log.warning("could not mark the job waiting", lease=name, error=str(exc))
            return None
        return waiter

    def _unmark(self, name: str, waiter: str) -> None:
        try:
            with self.store.session() as session:
                unmark_waiting(session, name, waiter)
        except Exception as exc:  # it expires on its own
            log.warning("could not unmark the waiting job", lease=name, error=str(exc))

    def _waited_for(self, name: str) -> bool:
        return _Waiters(self.store, name)()

    def _bound(self, instance: str, kind: JobKind, fired: float) -> DrainBound:
        """Where this job's drain pauses: after one slice, when another job waits, and for a
        pull before its next tick (which must not find it still running)."""
        interval = self.config.schedule.pull_interval.total_seconds()
        pulls = kind in (JobKind.INCREMENTAL, JobKind.FULL)
        return DrainBound(
            seconds=self.slice_seconds,
            deadline=fired + PULL_SHARE * interval if pulls else None,
            yield_when=_Waiters(self.store, lease_name(instance)),
            budget=self._budget(instance),
        )

    def _budget(self, instance: str) -> TokenBucket:
        """The instance's write budget in this process, shared by its successive slices."""
        with self._budgets_lock:
            if instance not in self._budgets:
                settings = self.config.connectors[instance]
                per_minute = (
                    settings.write_budget_per_minute
                    or self.registry.get(settings.type).default_writes_per_minute
                )
                self._budgets[instance] = budget_per_minute(per_minute)
            return self._budgets[instance]

    def _follow_up(self, instance: str) -> None:
        if self.follow_up is not None and not self.stopping.is_set():
            self.follow_up(instance)

    def _sync(
        self,
        instance: str,
        kind: JobKind,
        hold: LeaseHold,
        fired: float,
        first: Sequence[TaskRef] = (),
    ) -> None:
        log.info("job started")
        observer = _StopObserver(self.stopping, hold)
        reports: list[ConnectorReport]
        if kind is JobKind.DRAIN:
            report, result = drain_slice(
                self.config,
                self.store,
                self.registry,
                instance,
                env=self.env,
                bound=self._bound(instance, kind, fired),
                on_progress=lambda done, total: observer.push_progress(instance, done, total),
            )
            reports, more = [report], result.paused
        else:
            reports = run_sync(
                self.config,
                self.store,
                self.registry,
                full=kind is JobKind.FULL,
                only=[instance],
                env=self.env,
                pull=kind is not JobKind.PUSH,
                first=first,
                locked=True,  # this job holds `sync:<instance>`, the lease run_sync would take
                observer=observer,
                drain_bound=self._bound(instance, kind, fired),
            ).connectors
            # Rows left by an unfailed run: its drain paused at the bound (else it was empty).
            more = any(item.ok and item.writes_pending > 0 for item in reports)
        if more and not hold.lost.is_set():
            self._follow_up(instance)
        for item in reports:
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
        if kind in (JobKind.PUSH, JobKind.DRAIN):
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
