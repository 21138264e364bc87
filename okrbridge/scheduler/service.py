"""The APScheduler side of the daemon: interval jobs per instance, the debounced push and the
drain slices that follow a paused drain."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from okrbridge.logs import get_logger
from okrbridge.scheduler.jobs import JobOutcome, SyncJobs

__all__ = ["Debouncer", "FollowUps", "build_scheduler"]

log = get_logger(__name__)


def build_scheduler(jobs: SyncJobs, instances: list[str]) -> BackgroundScheduler:
    """A scheduler (not started) with an incremental and a full job per instance, and the
    follow-up drain slices of `jobs` (`FollowUps`).

    Missed runs coalesce into one; a job never overlaps itself. The first incremental run
    happens shortly after start (jittered so replicas started together spread out).
    """
    schedule = jobs.config.schedule
    pull = schedule.pull_interval.total_seconds()
    full = schedule.full_interval.total_seconds()
    jitter = schedule.jitter.total_seconds() or None
    scheduler = BackgroundScheduler(
        timezone=UTC,
        # Per instance: its pull, full pass, push and drain slice may all wait at once.
        executors={"default": {"type": "threadpool", "max_workers": 4 * len(instances) + 2}},
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    jobs.follow_up = FollowUps(scheduler, jobs.drain).trigger
    now = datetime.now(UTC)
    for instance in instances:
        # Ticks are counted from `first`, so this process's runs are one interval apart
        # (what `SyncJobs` assumes when it skips a job another replica ran this tick).
        first = now + timedelta(seconds=random.uniform(0.2, 0.2 + min(pull, 5.0) / 4))
        scheduler.add_job(
            jobs.incremental,
            IntervalTrigger(seconds=pull, jitter=jitter, start_date=first, timezone=UTC),
            args=[instance],
            id=f"incremental:{instance}",
            misfire_grace_time=max(1, int(pull)),
        )
        scheduler.add_job(
            _full_with_retry(jobs, scheduler, instance),
            IntervalTrigger(seconds=full, jitter=jitter, timezone=UTC),
            id=f"full:{instance}",
            misfire_grace_time=max(1, int(min(full, 3600))),
        )
    return scheduler


def _full_with_retry(
    jobs: SyncJobs, scheduler: BackgroundScheduler, instance: str
) -> Callable[[], None]:
    """The full pass; when the instance is busy (an incremental run), try again shortly rather
    than waiting a whole full interval."""
    retry_in = timedelta(seconds=max(1.0, jobs.config.schedule.pull_interval.total_seconds()))

    def full() -> None:
        if jobs.full(instance) is JobOutcome.BUSY:
            scheduler.add_job(
                full,
                "date",
                run_date=datetime.now(UTC) + retry_in,
                id=f"full-retry:{instance}",
                replace_existing=True,
            )

    return full


class Debouncer:
    """Coalesce webhook-driven pushes: the first event schedules a push `delay` later, events
    until it starts ride along; a push that finds the instance busy is rescheduled (unless
    `retry_busy` is off). `job` names the scheduled jobs."""

    def __init__(
        self,
        scheduler: BackgroundScheduler,
        delay: timedelta,
        action: Callable[[str], JobOutcome],
        *,
        job: str = "push",
        retry_busy: bool = True,
    ) -> None:
        self.scheduler, self.delay, self.action = scheduler, delay, action
        self.job, self.retry_busy = job, retry_busy
        self._lock = threading.Lock()
        self._scheduled: set[str] = set()
        self._ids = itertools.count(1)

    def trigger(self, instance: str) -> None:
        with self._lock:
            if instance in self._scheduled:
                return
            self._scheduled.add(instance)
        self.scheduler.add_job(
            self._fire,
            "date",
            run_date=datetime.now(UTC) + self.delay,
            args=[instance],
            # A fresh id each time: a job still running must not make APScheduler drop the
            # next one (max_instances counts per id); the instance lease serializes them.
            id=f"{self.job}:{instance}:{next(self._ids)}",
            misfire_grace_time=None,
        )

    def _fire(self, instance: str) -> None:
        with self._lock:
            self._scheduled.discard(instance)
        outcome = self.action(instance)
        if outcome is JobOutcome.BUSY and self.retry_busy:
            log.debug(f"{self.job} postponed: instance busy", connector=instance)
            self.trigger(instance)

    def pending(self) -> set[str]:
        with self._lock:
            return set(self._scheduled)


class FollowUps(Debouncer):
    """The next drain slice of an instance, `gap` seconds after a job left its queue paused
    (one at a time per instance); the gap lets a job that waits for the instance take it.
    A busy instance is not retried: its holder drains."""

    def __init__(
        self,
        scheduler: BackgroundScheduler,
        action: Callable[[str], JobOutcome],
        gap: timedelta = timedelta(seconds=0.5),
    ) -> None:
        super().__init__(scheduler, gap, action, job="drain", retry_busy=False)
