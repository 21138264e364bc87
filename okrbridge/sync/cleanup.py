"""`okrbridge cleanup`: undo everything the bridge wrote, give back what it replaced, and touch
nothing else.

Each task is read fresh from the tool (`fetch`, never the last pull), so what is removed is what
is there now: every status label the bridge owns, its comment, its project field value. What
the bridge replaced at first contact (a person's status label, a draft's previous field value)
is put back. Candidates are the tasks the store knows the bridge wrote to; with an empty or lost
store the connector scans its scope in the tool (`scan_marks`). The report counts only writes
made (or, with `dry_run`, exactly the actions it lists).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update

from okrbridge.config.schema import Config
from okrbridge.connector.base import (
    Capability,
    CommentAction,
    CommentChange,
    Connector,
    PushChange,
)
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import Task
from okrbridge.store.db import Store
from okrbridge.store.models import AuditEntry, PushQueueRow, PushStateRow, TaskRow
from okrbridge.store.repos.tasks import note_changed
from okrbridge.store.repos.writes import AuditRecord, audit, delete_push_states
from okrbridge.sync.lease import instance_lease
from okrbridge.sync.reconcile import STATUS_SLUGS

__all__ = ["CleanupReport", "run_cleanup"]


@dataclass
class CleanupReport:
    instance: str
    tasks: int = 0
    labels_removed: int = 0
    labels_restored: int = 0
    comments_deleted: int = 0
    fields_restored: int = 0
    scanned: bool = False
    """The store knew nothing: the connector's scope was scanned in the tool."""
    artifacts: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Known:
    """What the store remembers of one task."""

    task_id: int | None
    comment_id: str | None = None
    commented: bool = False
    """The audit log shows a comment created since the last cleanup."""
    field_value: str | None = None
    replaced_label: str | None = None
    replaced_field: str | None = None


@dataclass(frozen=True)
class _Undo:
    change: PushChange
    described: list[str]
    removed: int
    restored: int
    comments: int
    fields: int


def _last_audit(store: Store, instance: str, actions: tuple[str, ...]) -> dict[int, int]:
    """Task id -> id of its latest `made` audit entry among `actions`."""
    with store.session() as session:
        rows = session.execute(
            select(AuditEntry.task_id, func.max(AuditEntry.id))
            .where(
                AuditEntry.connector == instance,
                AuditEntry.phase == "made",
                AuditEntry.action.in_(actions),
                AuditEntry.task_id.is_not(None),
            )
            .group_by(AuditEntry.task_id)
        ).all()
    return {int(task_id): int(last) for task_id, last in rows if task_id is not None}


def _known(store: Store, instance: str) -> dict[str, _Known]:
    """External id -> what the store knows, for every task the bridge may have marked: its
    push state, plus tasks the audit log shows written to since their last cleanup."""
    cleaned = _last_audit(store, instance, ("cleanup",))

    def since_cleanup(actions: tuple[str, ...]) -> set[int]:
        written = _last_audit(store, instance, actions).items()
        return {tid for tid, last in written if last > cleaned.get(tid, 0)}

    commented = since_cleanup(("create_comment",))
    written = commented | since_cleanup(("add_label", "set_field"))
    with store.session() as session:
        states = {
            row.task_id: row
            for row in session.scalars(
                select(PushStateRow).where(PushStateRow.connector == instance)
            )
        }
        ids = set(states) | written
        external = (
            dict(
                session.execute(
                    select(TaskRow.id, TaskRow.external_id).where(TaskRow.id.in_(ids))
                ).all()
            )
            if ids
            else {}
        )
    found: dict[str, _Known] = {}
    for task_id, external_id in external.items():
        row = states.get(task_id)
        found[external_id] = _Known(
            task_id,
            comment_id=row.comment_id if row else None,
            commented=task_id in commented,
            field_value=row.field_value if row else None,
            replaced_label=row.replaced_label if row else None,
            replaced_field=row.replaced_field if row else None,
        )
    return found


def _undo(connector: Connector[Any], task: Task, known: _Known) -> _Undo | None:
    """The writes that take the bridge's marks off `task` (read fresh) and give back what it
    replaced; None when there is nothing to do."""
    caps = connector.task_capabilities(task)
    owned = connector.labels.owned_in(task.labels) if Capability.LABELS in caps else []
    give_back = known.replaced_label if Capability.LABELS in caps else None
    remove = [label for label in owned if label != give_back]
    add = give_back if give_back and give_back not in task.labels else None
    comment = _comment_to_delete(task, known) if Capability.COMMENTS in caps else None
    field_value = _field_to_restore(task, known) if Capability.PROJECT_FIELD in caps else None
    change = PushChange(
        task=task,
        add_label=add,
        remove_labels=tuple(remove),
        comment=comment,
        field_value=field_value,
        uncertain=task.marks is None,
    )
    if change.is_empty:
        return None
    described = [f"remove label {name}" for name in remove]
    described += [f"give back label {add}"] if add else []
    described += ["delete the bridge's comment"] if comment else []
    if field_value is not None:
        described.append(f"set field back to {field_value}" if field_value else "clear field")
    return _Undo(
        change,
        described,
        removed=len(remove),
        restored=1 if add else 0,
        comments=1 if comment else 0,
        fields=0 if field_value is None else 1,
    )


def _comment_to_delete(task: Task, known: _Known) -> CommentChange | None:
    if task.marks is not None:  # a fresh read that looked at the comments
        if task.marks.comment_id is None:
            return None
        return CommentChange(CommentAction.DELETE, comment_id=task.marks.comment_id)
    if known.comment_id or known.commented:  # the connector checks its marker first
        return CommentChange(CommentAction.DELETE, comment_id=known.comment_id)
    return None


def _field_to_restore(task: Task, known: _Known) -> str | None:
    current = task.marks.field_value if task.marks is not None else known.field_value
    if not current:
        return None
    ours = current in STATUS_SLUGS or current == known.field_value
    if not ours:
        return None
    target = known.replaced_field or ""
    return None if target == current else target


def _fresh(connector: Connector[Any], known: Mapping[str, _Known]) -> tuple[Iterable[Task], bool]:
    """Tasks read fresh from the tool: the known ones, or the whole scope when none is known."""
    if known:
        return connector.fetch(sorted(known)), False
    return connector.scan_marks(), True


def _cleanup_connector(
    store: Store, connector: Connector[Any], dry_run: bool, keep_definitions: bool
) -> CleanupReport:
    instance = connector.instance
    report = CleanupReport(instance)
    known = _known(store, instance)
    tasks, report.scanned = _fresh(connector, known)
    done: list[int] = []
    for task in tasks:
        memo = known.get(task.external_id, _Known(None))
        undo = _undo(connector, task, memo)
        if undo is None:
            if memo.task_id is not None:
                done.append(memo.task_id)
            continue
        if not dry_run:
            try:
                connector.apply(undo.change)
            except Exception as exc:  # report and go on with the other tasks
                report.errors.append(f"{task.key}: {exc}")
                continue
            _forget(store, instance, task, memo.task_id, undo)
        report.tasks += 1
        report.actions.append(f"{task.key}: {', '.join(undo.described)}")
        report.labels_removed += undo.removed
        report.labels_restored += undo.restored
        report.comments_deleted += undo.comments
        report.fields_restored += undo.fields
    if not dry_run:
        _forget_unmarked(store, done)
    if not keep_definitions:
        report.artifacts = connector.cleanup_artifacts(dry_run=dry_run)
    return report


def _forget(store: Store, instance: str, task: Task, task_id: int | None, undo: _Undo) -> None:
    """Record the cleanup: no push state, no queued writes, the labels as they now are."""
    if task_id is None:
        return  # a task the store never held (found by scanning the tool)
    change = undo.change
    labels = [label for label in task.labels if label not in change.remove_labels]
    if change.add_label:
        labels.append(change.add_label)
    with store.session() as session:
        delete_push_states(session, [task_id])
        session.execute(update(TaskRow).where(TaskRow.id == task_id).values(labels=labels))
        note_changed(session, [(instance, task.external_id)])  # the next sync plans it again
        session.execute(delete(PushQueueRow).where(PushQueueRow.task_id == task_id))
        audit(
            session,
            [
                AuditRecord(instance, "made", "cleanup", task_id, task.key, what, "cleanup")
                for what in undo.described
            ],
        )


def _forget_unmarked(store: Store, task_ids: Sequence[int]) -> None:
    """Tasks that carry nothing of the bridge's any more: forget what the store believed."""
    if not task_ids:
        return
    with store.session() as session:
        delete_push_states(session, task_ids)
        session.execute(delete(PushQueueRow).where(PushQueueRow.task_id.in_(task_ids)))


def run_cleanup(
    config: Config,
    store: Store,
    registry: ConnectorRegistry,
    *,
    only: Sequence[str] = (),
    dry_run: bool = False,
    keep_label_definitions: bool = False,
    env: Mapping[str, str],
    lease_wait: float = 5.0,
) -> list[CleanupReport]:
    """Clean up every enabled connector instance (or those in `only`), each under its sync
    lease (a running sync of the same instance is never raced)."""
    from okrbridge.sync.runner import build_connector

    reports = []
    for name, settings in config.connectors.items():
        if not settings.enabled or (only and name not in only):
            continue
        try:
            with instance_lease(store, name, wait=lease_wait):
                connector = build_connector(registry, config, name, env)
                try:
                    reports.append(
                        _cleanup_connector(store, connector, dry_run, keep_label_definitions)
                    )
                finally:
                    connector.close()
        except Exception as exc:
            reports.append(CleanupReport(name, errors=[str(exc)]))
    return reports
