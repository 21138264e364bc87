"""`okrbridge cleanup`: undo everything the bridge wrote, and nothing else.

Candidates come from the push state and the audit log; connectors check their marker before
deleting a comment and only remove labels the bridge owns (`<prefix><status>`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update

from okrbridge.config.schema import Config
from okrbridge.connector.base import CommentAction, CommentChange, Connector, PushChange
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import Task
from okrbridge.store.db import Store
from okrbridge.store.models import AuditEntry, PushQueueRow, PushStateRow, TaskRow
from okrbridge.store.repos.push import AuditRecord, audit, delete_push_states
from okrbridge.store.repos.tasks import note_changed
from okrbridge.sync.plan import owned_labels
from okrbridge.sync.push import load_task

__all__ = ["CleanupReport", "run_cleanup"]


@dataclass
class CleanupReport:
    instance: str
    tasks: int = 0
    labels_removed: int = 0
    comments_deleted: int = 0
    artifacts: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


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


def _candidates(store: Store, instance: str) -> dict[int, tuple[str | None, str | None, bool]]:
    """task id -> (pushed label, comment id, a comment may exist): everything the push state
    records, plus tasks the audit log shows written to since their last cleanup."""
    with store.session() as session:
        states = session.execute(
            select(PushStateRow.task_id, PushStateRow.label, PushStateRow.comment_id).where(
                PushStateRow.connector == instance
            )
        ).all()
    cleaned = _last_audit(store, instance, ("cleanup",))
    commented = {
        tid
        for tid, last in _last_audit(store, instance, ("create_comment",)).items()
        if last > cleaned.get(tid, 0)
    }
    labelled = {
        tid
        for tid, last in _last_audit(store, instance, ("add_label",)).items()
        if last > cleaned.get(tid, 0)
    }
    found: dict[int, tuple[str | None, str | None, bool]] = {
        tid: (label, cid, tid in commented) for tid, label, cid in states
    }
    for tid in (commented | labelled) - set(found):
        found[tid] = (None, None, tid in commented)
    return found


def _cleanup_connector(
    store: Store, config: Config, connector: Connector[Any], dry_run: bool
) -> CleanupReport:
    instance = connector.instance
    report = CleanupReport(instance)
    owned = owned_labels(config.push.label_prefix)
    for task_id, (label, comment_id, commented) in sorted(_candidates(store, instance).items()):
        task = load_task(store, task_id)
        if task is None:
            continue
        remove = sorted((set(task.labels) & owned) | ({label} if label else set()))
        comment = (
            CommentChange(CommentAction.DELETE, comment_id=comment_id)
            if comment_id or commented
            else None
        )
        change = PushChange(task=task, remove_labels=tuple(remove), comment=comment, uncertain=True)
        if change.is_empty:
            continue
        report.tasks += 1
        described = [f"remove label {name}" for name in remove] + (
            ["delete the bridge's comment"] if comment else []
        )
        report.actions.append(f"{task.key}: {', '.join(described)}")
        if dry_run:
            continue
        try:
            connector.apply(change)
        except Exception as exc:  # report and go on with the other tasks
            report.errors.append(f"{task.key}: {exc}")
            continue
        report.labels_removed += len(remove)
        report.comments_deleted += 1 if comment else 0
        _forget(store, instance, task, task_id, remove, described)
    report.artifacts = connector.cleanup_artifacts(dry_run=dry_run)
    return report


def _forget(
    store: Store, instance: str, task: Task, task_id: int, removed: list[str], described: list[str]
) -> None:
    """Record the cleanup: no push state, no queued writes, the labels as they now are."""
    key = task.key
    with store.session() as session:
        delete_push_states(session, [task_id])
        labels = [label for label in task.labels if label not in removed]
        session.execute(update(TaskRow).where(TaskRow.id == task_id).values(labels=labels))
        note_changed(session, [(instance, task.external_id)])  # the next sync plans it again
        session.execute(delete(PushQueueRow).where(PushQueueRow.task_id == task_id))
        audit(
            session,
            [
                AuditRecord(instance, "made", "cleanup", task_id, key, what, "cleanup")
                for what in described
            ],
        )


def run_cleanup(
    config: Config,
    store: Store,
    registry: ConnectorRegistry,
    *,
    only: Sequence[str] = (),
    dry_run: bool = False,
    env: Mapping[str, str],
) -> list[CleanupReport]:
    """Clean up every enabled connector instance (or those in `only`)."""
    from okrbridge.sync.runner import build_connector

    reports = []
    for name, settings in config.connectors.items():
        if not settings.enabled or (only and name not in only):
            continue
        try:
            connector = build_connector(registry, config, name, env)
        except Exception as exc:
            reports.append(CleanupReport(name, errors=[str(exc)]))
            continue
        try:
            reports.append(_cleanup_connector(store, config, connector, dry_run))
        except Exception as exc:
            reports.append(CleanupReport(name, errors=[str(exc)]))
        finally:
            connector.close()
    return reports
