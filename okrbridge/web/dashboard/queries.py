"""Read-only queries for the connector pages: recent runs, inbox and queue state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from okrbridge.store.models import InboxRow, PushQueueRow, SyncRunRow, TaskRow

__all__ = [
    "Problem",
    "RunView",
    "inbox_counts",
    "inbox_problems",
    "last_runs",
    "queue_counts",
    "queue_problems",
    "recent_runs",
]


@dataclass(frozen=True)
class RunView:
    """One sync run as the dashboard shows it."""

    id: int
    connector: str
    kind: str
    status: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None
    pulled: int
    changed: int
    writes_made: int
    writes_failed: int
    error: str | None
    retries: int
    rate_limit_waits: int
    rate_limit_wait_seconds: float

    @property
    def seconds(self) -> float | None:
        """How long the run took (None while it runs)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class Problem:
    """A parked delivery or a failing write, with its last error."""

    id: int
    what: str
    at: datetime
    attempts: int
    error: str


def _run(row: SyncRunRow) -> RunView:
    stats: dict[str, Any] = row.stats or {}
    return RunView(
        id=row.id,
        connector=row.connector,
        kind=row.kind,
        status=row.status,
        dry_run=row.dry_run,
        started_at=row.started_at,
        finished_at=row.finished_at,
        pulled=row.pulled,
        changed=row.changed,
        writes_made=row.writes_made,
        writes_failed=row.writes_failed,
        error=row.error,
        retries=int(stats.get("retries", 0) or 0),
        rate_limit_waits=int(stats.get("rate_limit_waits", 0) or 0),
        rate_limit_wait_seconds=float(stats.get("rate_limit_wait_seconds", 0.0) or 0.0),
    )


def recent_runs(session: Session, connector: str | None = None, limit: int = 20) -> list[RunView]:
    """The latest runs, newest first (of one connector, or the latest per connector)."""
    if connector is None:
        latest = select(func.max(SyncRunRow.id)).group_by(SyncRunRow.connector)
        query = select(SyncRunRow).where(SyncRunRow.id.in_(latest))
    else:
        query = select(SyncRunRow).where(SyncRunRow.connector == connector)
    query = query.order_by(SyncRunRow.id.desc()).limit(limit)
    return [_run(row) for row in session.scalars(query)]


def last_runs(session: Session, connectors: list[str]) -> dict[str, RunView]:
    """Each named connector's latest run (an index lookup each; never-run ones are absent)."""
    found: dict[str, RunView] = {}
    for connector in connectors:
        query = (
            select(SyncRunRow)
            .where(SyncRunRow.connector == connector)
            .order_by(SyncRunRow.started_at.desc(), SyncRunRow.id.desc())
            .limit(1)
        )
        row = session.scalars(query).first()
        if row is not None:
            found[connector] = _run(row)
    return found


def inbox_counts(session: Session, connector: str) -> dict[str, int]:
    """Webhook deliveries of `connector` per status (`pending`, `done`, `parked`)."""
    query = (
        select(InboxRow.status, func.count())
        .where(InboxRow.connector == connector)
        .group_by(InboxRow.status)
    )
    return {status: count for status, count in session.execute(query)}


def inbox_problems(session: Session, connector: str, limit: int = 10) -> list[Problem]:
    """Parked deliveries and pending ones that already failed, newest first."""
    query = (
        select(InboxRow)
        .where(InboxRow.connector == connector, InboxRow.last_error.is_not(None))
        .where(InboxRow.status != "done")
        .order_by(InboxRow.id.desc())
        .limit(limit)
    )
    return [
        Problem(row.id, row.delivery_id, row.received_at, row.attempts, row.last_error or "")
        for row in session.scalars(query)
    ]


def queue_counts(session: Session, connector: str) -> dict[str, int]:
    """Queued writes of `connector` per status (`pending`, `in_flight`, `done`, `failed`)."""
    query = (
        select(PushQueueRow.status, func.count())
        .where(PushQueueRow.connector == connector)
        .group_by(PushQueueRow.status)
    )
    return {status: count for status, count in session.execute(query)}


def queue_problems(session: Session, connector: str, limit: int = 10) -> list[Problem]:
    """Writes that failed for good or are waiting for a retry, newest first, with task keys."""
    query = (
        select(PushQueueRow, TaskRow.key)
        .join(TaskRow, TaskRow.id == PushQueueRow.task_id)
        .where(PushQueueRow.connector == connector, PushQueueRow.last_error.is_not(None))
        .where(PushQueueRow.status != "done")
        .order_by(PushQueueRow.id.desc())
        .limit(limit)
    )
    return [
        Problem(row.id, key, row.updated_at, row.attempts, row.last_error or "")
        for row, key in session.execute(query)
    ]
