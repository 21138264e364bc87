"""The webhook inbox: deliveries stored before acknowledgement, then processed by workers."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from okrbridge.store.models import InboxRow
from okrbridge.store.repos._sql import now_or, rowcount, upsert_insert
from okrbridge.store.text import clean, clean_text

__all__ = [
    "Delivery",
    "add_delivery",
    "claim_deliveries",
    "finish_delivery",
    "park_delivery",
    "retry_delivery",
]

INBOX: Table = InboxRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Delivery:
    id: int
    connector: str
    delivery_id: str
    headers: dict[str, Any]
    body: bytes
    attempts: int
    """Attempts including the current one."""
    received_at: datetime


def add_delivery(
    session: Session,
    connector: str,
    delivery_id: str,
    headers: Mapping[str, Any],
    body: bytes,
    *,
    event: str = "",
    now: datetime | None = None,
) -> bool:
    """Store a delivery; False when this delivery id was already stored (a redelivery).
    `headers` should hold only what the inbox keeps (`okrbridge.web.headers`)."""
    at = now_or(now)
    stmt = (
        upsert_insert(session, INBOX)
        .values(
            connector=clean_text(connector),
            delivery_id=clean_text(delivery_id),
            event=clean_text(event)[:100],
            received_at=at,
            headers=clean(dict(headers)),
            body=body,
            status="pending",
            attempts=0,
            next_attempt_at=at,
        )
        .on_conflict_do_nothing(index_elements=[INBOX.c.connector, INBOX.c.delivery_id])
        .returning(INBOX.c.id)
    )
    return session.execute(stmt).first() is not None


def claim_deliveries(
    session: Session,
    worker: str,
    limit: int,
    lease_seconds: float,
    *,
    connector: str | None = None,
    exclude: Collection[str] = (),
    now: datetime | None = None,
) -> list[Delivery]:
    """Lock up to `limit` due deliveries for `worker` for `lease_seconds`, oldest first
    (none of the connector instances in `exclude`).

    A delivery whose worker died becomes claimable again when its lock expires.
    """
    at = now_or(now)
    due = select(INBOX.c.id).where(
        INBOX.c.status == "pending",
        INBOX.c.next_attempt_at <= at,
        INBOX.c.locked_until.is_(None) | (INBOX.c.locked_until < at),
    )
    if connector is not None:
        due = due.where(INBOX.c.connector == connector)
    if exclude:
        due = due.where(INBOX.c.connector.not_in(list(exclude)))
    due = due.order_by(INBOX.c.next_attempt_at, INBOX.c.id).limit(limit)
    stmt = (
        update(INBOX)
        .where(INBOX.c.id.in_(due.with_for_update(skip_locked=True)))
        .values(
            locked_by=worker,
            locked_until=at + timedelta(seconds=lease_seconds),
            attempts=INBOX.c.attempts + 1,
        )
        .returning(
            INBOX.c.id,
            INBOX.c.connector,
            INBOX.c.delivery_id,
            INBOX.c.headers,
            INBOX.c.body,
            INBOX.c.attempts,
            INBOX.c.received_at,
        )
    )
    claimed = [Delivery(*row) for row in session.execute(stmt)]
    return sorted(claimed, key=lambda d: d.id)


def _settle(session: Session, item_id: int, worker: str | None, values: dict[str, Any]) -> bool:
    stmt = update(INBOX).where(INBOX.c.id == item_id)
    if worker is not None:  # only the worker still holding the lock may settle it
        stmt = stmt.where(INBOX.c.locked_by == worker)
    values.update(locked_by=None, locked_until=None)
    if values.get("last_error"):  # error texts quote tool and delivery text
        values["last_error"] = clean_text(values["last_error"])
    return rowcount(session.execute(stmt.values(values))) == 1


def finish_delivery(session: Session, item_id: int, *, worker: str | None = None) -> bool:
    """The delivery was processed."""
    return _settle(session, item_id, worker, {"status": "done", "last_error": None})


def retry_delivery(
    session: Session,
    item_id: int,
    error: str,
    delay_seconds: float,
    *,
    worker: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Processing failed for now: try again after `delay_seconds`."""
    next_at = now_or(now) + timedelta(seconds=delay_seconds)
    values = {"status": "pending", "last_error": error, "next_attempt_at": next_at}
    return _settle(session, item_id, worker, values)


def park_delivery(session: Session, item_id: int, error: str, *, worker: str | None = None) -> bool:
    """Give up on the delivery (kept for inspection, never retried automatically)."""
    return _settle(session, item_id, worker, {"status": "parked", "last_error": error})
