"""The durable write queue: planned changes stored per task, applied one by one and paced.

A row is marked `in_flight` (committed) before its writes are sent; a crash then leaves it
in flight, and the next attempt is flagged `uncertain` so the connector looks for what the lost
attempt may have created instead of creating it twice. Re-planning replaces a task's pending
row with the fresh desired state, so the queue never replays stale intentions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from okrbridge.connector.base import CommentAction, CommentChange, PushChange, PushResult
from okrbridge.domain import Task
from okrbridge.store.models import AuditEntry, PushQueueRow, PushStateRow, TaskRow, utcnow
from okrbridge.sync.plan import Pushed
from okrbridge.sync.planning import TaskPlan

__all__ = [
    "QueueItem",
    "change_actions",
    "load_pushed",
    "next_items",
    "pending_count",
    "record_failure",
    "record_success",
    "release",
    "replace_plan",
    "start_attempt",
]

OPEN = ("pending", "in_flight")


@dataclass(frozen=True)
class QueueItem:
    id: int
    task_id: int
    change: dict[str, Any]
    reason: str
    attempts: int


def load_pushed(session: Session, instance: str) -> dict[int, Pushed]:
    rows = session.execute(
        select(
            PushStateRow.task_id,
            PushStateRow.label,
            PushStateRow.comment_id,
            PushStateRow.comment_hash,
            PushStateRow.field_value,
        ).where(PushStateRow.connector == instance)
    )
    return {tid: Pushed(label, cid, digest, field) for tid, label, cid, digest, field in rows}


def change_actions(change: dict[str, Any]) -> list[tuple[str, str]]:
    """The audit view of a serialized change: (action, detail) pairs."""
    actions: list[tuple[str, str]] = []
    if change.get("add_label"):
        actions.append(("add_label", change["add_label"]))
    actions += [("remove_label", label) for label in change.get("remove_labels", [])]
    comment = change.get("comment")
    if comment:
        first_line = (comment.get("body") or "").split("\n", 1)[0][:200]
        actions.append((f"{comment['action']}_comment", first_line))
    if change.get("field_value") is not None:
        actions.append(("set_field", change["field_value"] or "(cleared)"))
    return actions


def _serialize(plan: TaskPlan) -> dict[str, Any]:
    planned, change = plan.planned, plan.planned.change
    comment = change.comment
    return {
        "add_label": change.add_label,
        "remove_labels": list(change.remove_labels),
        "comment": None
        if comment is None
        else {
            "action": comment.action.value,
            "body": comment.body,
            "comment_id": comment.comment_id,
        },
        "field_value": change.field_value,
        "after": {
            "label": planned.label,
            "comment_hash": planned.comment_hash,
            "field_value": planned.field_value,
        },
    }


def replace_plan(session: Session, instance: str, plans: list[TaskPlan], run_id: int) -> int:
    """Replace the instance's open queue rows with `plans`; return how many writes are queued."""
    earlier = session.execute(
        select(PushQueueRow.task_id, PushQueueRow.attempts, PushQueueRow.status).where(
            PushQueueRow.connector == instance, PushQueueRow.status.in_(OPEN)
        )
    )
    # An in-flight row is a crashed attempt; a retried one may have partly succeeded too.
    uncertain = {tid for tid, attempts, status in earlier if status == "in_flight" or attempts}
    session.execute(
        delete(PushQueueRow).where(
            PushQueueRow.connector == instance, PushQueueRow.status.in_(OPEN)
        )
    )
    now = utcnow()
    rows, audits, writes = [], [], 0
    for plan in plans:
        change = _serialize(plan)
        reason = "; ".join(r.value for r in plan.planned.reasons)
        rows.append(
            {
                "connector": instance,
                "task_id": plan.task_id,
                "change": change,
                "reason": reason,
                "status": "pending",
                "attempts": 1 if plan.task_id in uncertain else 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        for action, detail in change_actions(change):
            writes += 1
            audits.append(
                _audit(
                    instance,
                    plan.task_id,
                    plan.planned.change.task.key,
                    "planned",
                    action,
                    detail,
                    reason,
                    run_id,
                )
            )
    if rows:
        session.execute(insert(PushQueueRow), rows)
    if audits:
        session.execute(insert(AuditEntry), audits)
    return writes


def _audit(
    instance: str,
    task_id: int | None,
    key: str,
    phase: str,
    action: str,
    detail: str,
    reason: str,
    run_id: int | None,
) -> dict[str, Any]:
    return {
        "at": utcnow(),
        "connector": instance,
        "task_id": task_id,
        "task_key": key,
        "phase": phase,
        "action": action,
        "detail": detail,
        "reason": reason,
        "sync_run_id": run_id,
    }


def pending_count(session: Session, instance: str) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                PushQueueRow.connector == instance, PushQueueRow.status.in_(OPEN)
            )
        )
        or 0
    )


def next_items(session: Session, instance: str, limit: int) -> list[QueueItem]:
    rows = session.execute(
        select(PushQueueRow)
        .where(PushQueueRow.connector == instance, PushQueueRow.status == "pending")
        .order_by(PushQueueRow.id)
        .limit(limit)
    ).scalars()
    return [QueueItem(r.id, r.task_id, r.change, r.reason, r.attempts) for r in rows]


def start_attempt(session: Session, item: QueueItem, task: Task) -> PushChange:
    """Mark the row in flight (commit before sending) and rebuild its change for `task`."""
    session.execute(
        update(PushQueueRow)
        .where(PushQueueRow.id == item.id)
        .values(status="in_flight", attempts=item.attempts + 1, updated_at=utcnow())
    )
    data = item.change
    comment = data.get("comment")
    return PushChange(
        task=task,
        add_label=data.get("add_label"),
        remove_labels=tuple(data.get("remove_labels", ())),
        comment=None
        if comment is None
        else CommentChange(
            CommentAction(comment["action"]), comment.get("body", ""), comment.get("comment_id")
        ),
        field_value=data.get("field_value"),
        uncertain=item.attempts > 0,
    )


def record_success(
    session: Session, instance: str, item: QueueItem, task: Task, result: PushResult, run_id: int
) -> None:
    """Remember what was written (push state, the task's labels) and audit it, atomically."""
    after = item.change["after"]
    comment = item.change.get("comment")
    comment_id = result.comment_id
    if comment is None:
        existing = session.get(PushStateRow, item.task_id)
        comment_id = existing.comment_id if existing else None
    values = {
        "connector": instance,
        "label": after["label"],
        "comment_id": comment_id,
        "comment_hash": after["comment_hash"] if comment_id else None,
        "field_value": after["field_value"],
        "updated_at": utcnow(),
    }
    state = session.get(PushStateRow, item.task_id)
    if state is None:
        session.add(PushStateRow(task_id=item.task_id, **values))
    else:
        for name, value in values.items():
            setattr(state, name, value)
    labels = [label for label in task.labels if label not in item.change["remove_labels"]]
    if item.change.get("add_label") and item.change["add_label"] not in labels:
        labels.append(item.change["add_label"])
    session.execute(update(TaskRow).where(TaskRow.id == item.task_id).values(labels=labels))
    session.execute(
        update(PushQueueRow)
        .where(PushQueueRow.id == item.id)
        .values(status="done", updated_at=utcnow(), last_error=None)
    )
    audits = [
        _audit(instance, item.task_id, task.key, "made", action, detail, item.reason, run_id)
        for action, detail in change_actions(item.change)
    ]
    session.execute(insert(AuditEntry), audits)


def record_failure(
    session: Session,
    instance: str,
    item: QueueItem,
    task_key: str,
    error: str,
    *,
    final: bool,
    run_id: int,
) -> None:
    """A failed attempt: `final` parks the row as failed; otherwise it waits for a retry."""
    session.execute(
        update(PushQueueRow)
        .where(PushQueueRow.id == item.id)
        .values(status="failed" if final else "pending", last_error=error, updated_at=utcnow())
    )
    audits = [
        _audit(
            instance,
            item.task_id,
            task_key,
            "failed",
            action,
            f"{detail} ({error})",
            item.reason,
            run_id,
        )
        for action, detail in change_actions(item.change)
    ]
    session.execute(insert(AuditEntry), audits)


def release(session: Session, item: QueueItem) -> None:
    """Put a row back as pending (its attempt count marks it uncertain)."""
    session.execute(update(PushQueueRow).where(PushQueueRow.id == item.id).values(status="pending"))
