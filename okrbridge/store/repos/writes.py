"""What the bridge wrote to tasks (push state), its durable write queue, and the audit log."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from okrbridge.store.models import AuditEntry, PushQueueRow, PushStateRow
from okrbridge.store.repos._sql import chunked, insert_rows, now_or, rowcount, upsert_insert

__all__ = [
    "AuditRecord",
    "ClaimedItem",
    "QueueItem",
    "audit",
    "claim_next",
    "complete",
    "delete_push_states",
    "enqueue",
    "fail",
    "parked_writes",
    "pending_count",
    "push_states",
    "put_push_states",
    "remember_replaced",
    "requeue_in_flight",
    "save_push_state",
]

STATES: Table = PushStateRow.__table__  # type: ignore[assignment]
QUEUE: Table = PushQueueRow.__table__  # type: ignore[assignment]
AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]


# -- push state ------------------------------------------------------------------------------


def push_states(session: Session, connector: str) -> dict[int, PushStateRow]:
    """Task id -> what the bridge last wrote to that task of `connector`."""
    rows = session.scalars(select(PushStateRow).where(PushStateRow.connector == connector))
    return {row.task_id: row for row in rows}


def save_push_state(
    session: Session,
    task_id: int,
    connector: str,
    *,
    label: str | None,
    comment_id: str | None,
    comment_hash: str | None,
    field_value: str | None = None,
    comment_absent: bool = False,
    figures_at: datetime | None = None,
    now: datetime | None = None,
) -> None:
    """Record what is now on the task after a write (replacing the previous record, except
    what the bridge replaced at first contact: see `remember_replaced`)."""
    values = {
        "task_id": task_id,
        "connector": connector,
        "label": label,
        "comment_id": comment_id,
        "comment_hash": comment_hash,
        "field_value": field_value,
        "comment_absent": comment_absent,
        "figures_at": figures_at,
        "updated_at": now_or(now),
    }
    stmt = upsert_insert(session, STATES).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[STATES.c.task_id],
        set_={name: stmt.excluded[name] for name in values if name != "task_id"},
    )
    session.execute(stmt)


def put_push_states(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert whole push-state rows (every column given), in one batch."""
    if not rows:
        return
    stmt = upsert_insert(session, STATES)
    stmt = stmt.on_conflict_do_update(
        index_elements=[STATES.c.task_id],
        set_={name: stmt.excluded[name] for name in rows[0] if name != "task_id"},
    )
    session.execute(stmt, list(rows))


def remember_replaced(
    session: Session, task_id: int, *, label: str | None, field_value: str | None
) -> None:
    """Record what a person had where the bridge writes (found at first contact)."""
    session.execute(
        update(STATES)
        .where(STATES.c.task_id == task_id)
        .values(replaced_label=label, replaced_field=field_value)
    )


def delete_push_states(session: Session, task_ids: Iterable[int]) -> int:
    """Forget what was written to these tasks (after `cleanup` removed it)."""
    count = 0
    for chunk in chunked(sorted(set(task_ids))):
        count += rowcount(session.execute(delete(STATES).where(STATES.c.task_id.in_(chunk))))
    return count


# -- queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    """A write to make: the planned change of one task, as plain JSON data."""

    connector: str
    task_id: int
    change: dict[str, Any]
    reason: str = ""
    priority: int = 1
    """Claim order: lower first (0: the tasks that triggered the push)."""


@dataclass(frozen=True)
class ClaimedItem:
    """A queued write now marked `in_flight` for the caller."""

    id: int
    connector: str
    task_id: int
    change: dict[str, Any]
    reason: str
    attempts: int
    """Attempts including this one; above 1 an earlier attempt may have partly succeeded."""
    last_error: str | None


def enqueue(
    session: Session,
    items: Sequence[QueueItem],
    *,
    supersede: bool = True,
    now: datetime | None = None,
) -> int:
    """Queue writes; with `supersede`, pending writes of the same tasks are dropped first."""
    if not items:
        return 0
    at = now_or(now)
    if supersede:
        by_connector: dict[str, set[int]] = {}
        for item in items:
            by_connector.setdefault(item.connector, set()).add(item.task_id)
        for connector, task_ids in by_connector.items():
            for chunk in chunked(sorted(task_ids)):
                session.execute(
                    delete(QUEUE).where(
                        QUEUE.c.connector == connector,
                        QUEUE.c.status == "pending",
                        QUEUE.c.task_id.in_(chunk),
                    )
                )
    # Shallow rows: `dataclasses.asdict` would deep-copy every change document.
    rows = [
        {**_shallow(item), "status": "pending", "attempts": 0, "created_at": at, "updated_at": at}
        for item in items
    ]
    insert_rows(session, QUEUE, rows)
    return len(rows)


def claim_next(
    session: Session, connector: str, limit: int, *, now: datetime | None = None
) -> list[ClaimedItem]:
    """Mark up to `limit` due pending writes `in_flight` and return them, by priority, then
    oldest first.

    One UPDATE over a sub-select; on PostgreSQL the sub-select skips rows other workers have
    locked, so concurrent claimers never get the same item.
    """
    at = now_or(now)
    due = (
        select(QUEUE.c.id)
        .where(
            QUEUE.c.connector == connector,
            QUEUE.c.status == "pending",
            QUEUE.c.next_attempt_at.is_(None) | (QUEUE.c.next_attempt_at <= at),
        )
        .order_by(QUEUE.c.priority, QUEUE.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(QUEUE)
        .where(QUEUE.c.id.in_(due))
        .values(status="in_flight", attempts=QUEUE.c.attempts + 1, updated_at=at)
        .returning(
            QUEUE.c.id,
            QUEUE.c.connector,
            QUEUE.c.task_id,
            QUEUE.c.change,
            QUEUE.c.reason,
            QUEUE.c.attempts,
            QUEUE.c.last_error,
            QUEUE.c.priority,
        )
    )
    rows = sorted(session.execute(stmt), key=lambda row: (row[-1], row[0]))
    return [ClaimedItem(*row[:-1]) for row in rows]


def complete(session: Session, item_id: int, *, now: datetime | None = None) -> None:
    """The write succeeded."""
    session.execute(
        update(QUEUE)
        .where(QUEUE.c.id == item_id)
        .values(status="done", updated_at=now_or(now), last_error=None)
    )


def fail(
    session: Session,
    item_id: int,
    error: str,
    retry: bool,
    *,
    retry_at: datetime | None = None,
    park: bool = False,
    now: datetime | None = None,
) -> None:
    """The write failed: back to `pending` (not before `retry_at`), `failed` for this run, or
    `parked` (the tool refused it: not planned again until the desired state changes)."""
    values: dict[str, Any] = {"last_error": error, "updated_at": now_or(now)}
    if retry:
        values.update(status="pending", next_attempt_at=retry_at)
    else:
        values["status"] = "parked" if park else "failed"
    session.execute(update(QUEUE).where(QUEUE.c.id == item_id).values(values))


def requeue_in_flight(session: Session, connector: str, *, now: datetime | None = None) -> int:
    """After a crash: put `connector`'s in-flight writes back to pending (outcome unknown).

    Only the process that owns the connector's queue (its lease) may call this.
    """
    result = session.execute(
        update(QUEUE)
        .where(QUEUE.c.connector == connector, QUEUE.c.status == "in_flight")
        .values(status="pending", updated_at=now_or(now))
    )
    return rowcount(result)


def parked_writes(session: Session, connector: str | None = None) -> list[PushQueueRow]:
    """Writes the tool refused, waiting for their task's desired state to change."""
    query = select(PushQueueRow).where(PushQueueRow.status == "parked")
    if connector is not None:
        query = query.where(PushQueueRow.connector == connector)
    return list(session.scalars(query.order_by(PushQueueRow.connector, PushQueueRow.id)))


def pending_count(session: Session, connector: str) -> int:
    """Writes of `connector` still waiting (due or not)."""
    query = select(func.count()).where(QUEUE.c.connector == connector, QUEUE.c.status == "pending")
    return int(session.scalar(query) or 0)


# -- audit -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRecord:
    """One planned, made, failed or skipped write, with its reason."""

    connector: str
    phase: str
    action: str
    task_id: int | None = None
    task_key: str = ""
    detail: str = ""
    reason: str = ""
    sync_run_id: int | None = None
    at: datetime | None = field(default=None)


def audit(session: Session, entries: Sequence[AuditRecord], *, now: datetime | None = None) -> None:
    """Append entries to the audit log in one batch."""
    if not entries:
        return
    at = now_or(now)
    rows = [{**_shallow(entry), "at": entry.at or at} for entry in entries]
    insert_rows(session, AUDIT, rows)


def _shallow(item: QueueItem | AuditRecord) -> dict[str, Any]:
    """A dataclass's fields as a dict, values shared (not copied)."""
    return {f.name: getattr(item, f.name) for f in fields(item)}
