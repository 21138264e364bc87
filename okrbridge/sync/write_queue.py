"""The sync's use of the durable write queue (`okrbridge.store.repos.writes`).

A row is claimed (marked `in_flight` and committed) before its writes are sent; a crash then
leaves it in flight, and the next plan flags that task `uncertain`, so the connector looks for
what the lost attempt may have created instead of creating it twice. Re-planning replaces the
pending rows of the re-planned tasks with their fresh desired state, so the queue never
replays stale intentions. Claims are atomic (`SKIP LOCKED` on PostgreSQL): two drains never
share a row.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from okrbridge.connector.base import CommentAction, CommentChange, PushChange, PushResult
from okrbridge.domain import Task
from okrbridge.store.models import PushQueueRow, PushStateRow, TaskRow
from okrbridge.store.repos._sql import STATISTICS_FROM, chunked, now_or, refresh_statistics
from okrbridge.store.repos.writes import (
    QUEUE,
    AuditRecord,
    ClaimedItem,
    QueueItem,
    audit,
    claim_next,
    complete,
    enqueue,
    fail,
    pending_count,
    save_push_state,
)
from okrbridge.sync.connector_plan import TaskPlan
from okrbridge.sync.task_changes import Pushed

__all__ = [
    "ClaimedItem",
    "QueueReplacement",
    "change_actions",
    "claim",
    "load_pushed",
    "pending_count",
    "pushed_of",
    "record_failure",
    "record_success",
    "to_change",
]

OPEN = ("pending", "in_flight")


_PUSHED = select(PushStateRow.task_id, *(getattr(PushStateRow, f.name) for f in fields(Pushed)))
"""Each task's id and the push-state columns named like the fields of `Pushed`."""


def load_pushed(session: Session, instance: str) -> dict[int, Pushed]:
    """What the bridge last wrote to every task of `instance`."""
    query = _PUSHED.where(PushStateRow.connector == instance)
    return {row[0]: Pushed(*row[1:]) for row in session.execute(query)}


def pushed_of(session: Session, task_ids: Sequence[int]) -> dict[int, Pushed]:
    """What the bridge last wrote to the given tasks (those it never wrote to are absent)."""
    found: dict[int, Pushed] = {}
    for chunk in chunked(sorted(task_ids)):
        query = _PUSHED.where(PushStateRow.task_id.in_(chunk))
        found.update((row[0], Pushed(*row[1:])) for row in session.execute(query))
    return found


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


def _serialize(plan: TaskPlan, uncertain: bool) -> dict[str, Any]:
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
            "digest": comment.digest,
            "look_first": comment.look_first,
        },
        "field_value": change.field_value,
        "uncertain": uncertain,
        "after": {
            "label": planned.label,
            "comment_hash": planned.comment_hash,
            "field_value": planned.field_value,
            "figures_written": planned.figures_written,
        },
    }


def _intent(change: dict[str, Any]) -> str:
    """What a serialized change means to achieve (not its text): a parked write is planned
    again only when this differs."""
    comment = change.get("comment") or {}
    key = [
        change.get("add_label"),
        change.get("remove_labels"),
        change.get("field_value"),
        comment.get("action"),
        (change.get("after") or {}).get("label"),
        ((change.get("after") or {}).get("comment_hash") or "")[:32],
    ]
    return json.dumps(key, sort_keys=True)


class QueueReplacement:
    """Replace an instance's open queue rows with fresh plans, page by page, in the caller's
    transaction: `add` each page of plans, then `finish`.

    `scope` names the tasks that were planned (None: every task of the instance); only their
    open and parked rows are replaced, so the rest of the queue is left as it was (their
    inputs did not change). A plan the tool refused before (a `parked` row with the same
    intent) is not queued again; a parked row of the scope whose task now wants something
    else, or nothing, is dropped. Only the holder of the instance's sync lease does this.
    """

    def __init__(
        self, session: Session, instance: str, run_id: int, scope: Collection[int] | None
    ) -> None:
        self.session, self.instance, self.run_id = session, instance, run_id
        self.writes = 0
        self._still_parked: set[int] = set()
        self._parked: dict[int, tuple[int, str]] = {}
        self._uncertain: set[int] = set()
        for where in _scoped(instance, scope):
            self._parked.update(
                (task_id, (row_id, _intent(change)))
                for row_id, task_id, change in session.execute(
                    select(PushQueueRow.id, PushQueueRow.task_id, PushQueueRow.change).where(
                        where, PushQueueRow.status == "parked"
                    )
                )
            )
            # An in-flight row is a crashed attempt; a retried one may have partly succeeded.
            self._uncertain.update(
                session.scalars(
                    select(PushQueueRow.task_id).where(
                        where,
                        PushQueueRow.status.in_(OPEN),
                        (PushQueueRow.status == "in_flight") | (PushQueueRow.attempts > 0),
                    )
                )
            )
            session.execute(delete(PushQueueRow).where(where, PushQueueRow.status.in_(OPEN)))

    def add(self, plans: Iterable[TaskPlan]) -> None:
        """Queue one page of plans (and audit them as planned)."""
        items, records = [], []
        for plan in plans:
            held = self._parked.get(plan.task_id)
            if held is not None and held[1] == _intent(_serialize(plan, False)):
                self._still_parked.add(held[0])
                continue
            change = _serialize(plan, plan.task_id in self._uncertain)
            reason = "; ".join(r.value for r in plan.planned.reasons)
            items.append(QueueItem(self.instance, plan.task_id, change, reason, plan.priority))
            key = plan.planned.change.task.key
            records += [
                AuditRecord(
                    self.instance, "planned", action, plan.task_id, key, detail, reason, self.run_id
                )
                for action, detail in change_actions(change)
            ]
        enqueue(self.session, items, supersede=False)
        audit(self.session, records)
        self.writes += len(records)

    def finish(self) -> int:
        """Drop the parked rows no plan asked for again; return how many writes were queued."""
        stale = [row_id for row_id, _ in self._parked.values() if row_id not in self._still_parked]
        for chunk in chunked(stale):
            self.session.execute(delete(PushQueueRow).where(PushQueueRow.id.in_(chunk)))
        if self.writes >= STATISTICS_FROM:  # a rollout was just queued: claims must plan well
            refresh_statistics(self.session, [QUEUE])
        return self.writes


def _scoped(instance: str, scope: Collection[int] | None) -> Iterator[ColumnElement[bool]]:
    """Conditions selecting the queue rows of `scope` (None: the whole instance), in chunks."""
    mine = PushQueueRow.connector == instance
    if scope is None:
        yield mine
        return
    for chunk in chunked(sorted(scope)):
        yield mine & PushQueueRow.task_id.in_(chunk)


def claim(session: Session, instance: str) -> ClaimedItem | None:
    """The next pending row, now in flight (committed by the caller before any write)."""
    claimed = claim_next(session, instance, 1)
    return claimed[0] if claimed else None


def to_change(item: ClaimedItem, task: Task) -> PushChange:
    """Rebuild a claimed row's change against the task as it is stored now."""
    data = item.change
    comment = data.get("comment")
    return PushChange(
        task=task,
        add_label=data.get("add_label"),
        remove_labels=tuple(data.get("remove_labels", ())),
        comment=None
        if comment is None
        else CommentChange(
            CommentAction(comment["action"]),
            comment.get("body", ""),
            comment.get("comment_id"),
            digest=comment.get("digest") or "",
            look_first=comment.get("look_first", True),
        ),
        field_value=data.get("field_value"),
        uncertain=item.attempts > 1 or bool(data.get("uncertain")),
    )


def record_success(
    session: Session,
    instance: str,
    item: ClaimedItem,
    task: Task,
    result: PushResult,
    run_id: int,
    *,
    now: datetime | None = None,
) -> None:
    """Remember what was written (push state, the task's labels) and audit it, atomically."""
    after = item.change["after"]
    comment_id = result.comment_id
    previous = session.get(PushStateRow, item.task_id)
    figures_at = previous.figures_at if previous else None
    absent = previous.comment_absent if previous else False
    if item.change.get("comment") is None:
        comment_id = previous.comment_id if previous else None
    else:
        absent = comment_id is None
        if after.get("figures_written"):
            figures_at = now_or(now)
    # A comment deleted by a person keeps its last meaning (drift: respect compares with it).
    kept_hash = after["comment_hash"] if comment_id or item.change.get("comment") is None else None
    save_push_state(
        session,
        item.task_id,
        instance,
        label=after["label"],
        comment_id=comment_id,
        comment_hash=kept_hash,
        field_value=after["field_value"],
        comment_absent=absent,
        figures_at=figures_at,
        now=now,
    )
    labels = [label for label in task.labels if label not in item.change["remove_labels"]]
    if item.change.get("add_label") and item.change["add_label"] not in labels:
        labels.append(item.change["add_label"])
    session.execute(update(TaskRow).where(TaskRow.id == item.task_id).values(labels=labels))
    complete(session, item.id)
    audit(
        session,
        [
            AuditRecord(
                instance, "made", action, item.task_id, task.key, detail, item.reason, run_id
            )
            for action, detail in change_actions(item.change)
        ],
    )


def record_failure(
    session: Session,
    instance: str,
    item: ClaimedItem,
    task_key: str,
    error: str,
    *,
    final: bool,
    run_id: int,
    park: bool = False,
) -> None:
    """A failed attempt: `final` ends the row as failed (`park`: refused by the tool, kept so
    that it is not planned again until the task wants something else); otherwise it is
    claimed again later (its attempt count marks it uncertain)."""
    fail(session, item.id, error, retry=not final, park=park)
    audit(
        session,
        [
            AuditRecord(
                instance,
                "failed",
                action,
                item.task_id,
                task_key,
                f"{detail} ({error})",
                item.reason,
                run_id,
            )
            for action, detail in change_actions(item.change)
        ],
    )
