"""Inspect and act on the webhook inbox: list, retry, purge, release (for the CLI and worker)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from okrbridge.store.models import InboxRow, utcnow
from okrbridge.store.repos._sql import rowcount

__all__ = [
    "STATUSES",
    "InboxEntry",
    "list_entries",
    "purge_entries",
    "release_claims",
    "retry_entries",
]

STATUSES = ("pending", "done", "parked")


@dataclass(frozen=True)
class InboxEntry:
    id: int
    connector: str
    delivery_id: str
    status: str
    attempts: int
    received_at: datetime
    next_attempt_at: datetime
    last_error: str | None


def list_entries(
    session: Session,
    *,
    status: str | None = None,
    connector: str | None = None,
    limit: int = 50,
) -> list[InboxEntry]:
    """Newest first."""
    stmt = select(
        InboxRow.id,
        InboxRow.connector,
        InboxRow.delivery_id,
        InboxRow.status,
        InboxRow.attempts,
        InboxRow.received_at,
        InboxRow.next_attempt_at,
        InboxRow.last_error,
    )
    if status is not None:
        stmt = stmt.where(InboxRow.status == status)
    if connector is not None:
        stmt = stmt.where(InboxRow.connector == connector)
    rows = session.execute(stmt.order_by(InboxRow.id.desc()).limit(limit))
    return [InboxEntry(*row) for row in rows]


def retry_entries(session: Session, ids: Sequence[int] = (), *, all_parked: bool = False) -> int:
    """Make parked (or pending, waiting) deliveries due now with a fresh attempt count."""
    stmt = update(InboxRow).where(InboxRow.status.in_(("parked", "pending")))
    if all_parked:
        stmt = stmt.where(InboxRow.status == "parked")
    elif ids:
        stmt = stmt.where(InboxRow.id.in_(list(ids)))
    else:
        return 0
    values = {
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": utcnow(),
        "locked_by": None,
        "locked_until": None,
    }
    return rowcount(session.execute(stmt.values(values)))


def purge_entries(
    session: Session, *, status: str = "done", older_than: timedelta | None = None
) -> int:
    """Delete deliveries with `status` (`done` or `parked`) received before `older_than` ago."""
    if status not in ("done", "parked"):
        raise ValueError("only done or parked deliveries can be purged")
    stmt = delete(InboxRow).where(InboxRow.status == status)
    if older_than is not None:
        stmt = stmt.where(InboxRow.received_at < utcnow() - older_than)
    return rowcount(session.execute(stmt))


def release_claims(session: Session, ids: Sequence[int], worker: str) -> int:
    """Hand claimed but unprocessed deliveries back (shutdown), undoing the claim's attempt."""
    if not ids:
        return 0
    stmt = (
        update(InboxRow)
        .where(InboxRow.id.in_(list(ids)), InboxRow.locked_by == worker)
        .values(locked_by=None, locked_until=None, attempts=InboxRow.attempts - 1)
    )
    return rowcount(session.execute(stmt))
