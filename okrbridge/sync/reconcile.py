"""The tool is the truth about the bridge's own marks: reconcile the push state with them.

Whenever a read of the tool looked at a task's comments (`Task.marks`), what it saw replaces
what the store believed: a bridge comment found is adopted with the digest stamped in it (a
lost or new store then makes no duplicate, and edits only what really differs); no comment
where the store knew one means a person deleted it (drift); a status label the bridge owns
counts as pushed once the bridge is known to have written there. At first contact (the bridge
never wrote to the task) a status label with no bridge comment beside it is a person's, and a
project field value that is not one of the bridge's statuses is a person's: both are
remembered, so that `cleanup` gives them back.

Called by the pull for every committed page, and by the daemon's inbox worker for the tasks a
webhook brought, in the same transaction as the tasks themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from okrbridge.domain import KRStatus, Task
from okrbridge.marks import StatusLabels
from okrbridge.store.models import PushStateRow
from okrbridge.store.repos._sql import chunked, now_or
from okrbridge.store.repos.tasks import get_task_ids, note_changed
from okrbridge.store.repos.writes import put_push_states
from okrbridge.store.text import clean_text

__all__ = ["STATUS_SLUGS", "reconcile_marks"]

STATUS_SLUGS = frozenset(status.label_slug for status in KRStatus)
"""Project field values the bridge writes (a status slug each; "" clears the field)."""


def reconcile_marks(
    session: Session,
    instance: str,
    tasks: Sequence[Task],
    labels: StatusLabels,
    *,
    now: datetime | None = None,
) -> int:
    """Bring the push state of `tasks` (of `instance`, already upserted in this session) in
    line with the marks read from the tool; return how many push-state rows changed. Tasks
    read without looking at comments (`marks` None) are left as they are."""
    seen = [task for task in tasks if task.marks is not None]
    if not seen:
        return 0
    ids = {
        ref.external_id: tid for ref, tid in get_task_ids(session, [t.ref for t in seen]).items()
    }
    states = _states(session, list(ids.values()))
    at = now_or(now)
    rows, moved = [], []
    for task in seen:
        task_id = ids.get(task.external_id)
        if task_id is None:
            continue
        before = _values(task_id, instance, states.get(task_id))
        after = _reconciled(task, dict(before), labels, at)
        if after != before:
            rows.append({**after, "updated_at": at})
            moved.append((instance, clean_text(task.external_id)))  # as stored
    put_push_states(session, rows)
    # What the bridge wrote is a plan input: the next compute plans these tasks again.
    note_changed(session, moved)
    return len(rows)


def _states(session: Session, task_ids: list[int]) -> dict[int, PushStateRow]:
    found: dict[int, PushStateRow] = {}
    for chunk in chunked(sorted(task_ids)):
        rows = session.scalars(select(PushStateRow).where(PushStateRow.task_id.in_(chunk)))
        found.update({row.task_id: row for row in rows})
    return found


def _values(task_id: int, instance: str, row: PushStateRow | None) -> dict[str, Any]:
    names = ("label", "comment_id", "comment_hash", "field_value", "figures_at")
    values: dict[str, Any] = {"task_id": task_id, "connector": instance}
    values.update({name: getattr(row, name) if row else None for name in names})
    values["comment_absent"] = bool(row.comment_absent) if row else False
    values["replaced_label"] = row.replaced_label if row else None
    values["replaced_field"] = row.replaced_field if row else None
    return values


def _reconciled(
    task: Task, values: dict[str, Any], labels: StatusLabels, at: datetime
) -> dict[str, Any]:
    marks = task.marks
    assert marks is not None
    first_contact = not any(
        values[name] for name in ("label", "comment_id", "comment_hash", "field_value")
    )
    if marks.comment_id:
        known = marks.comment_id == values["comment_id"]
        digest = marks.comment_digest
        if known and not digest:
            digest = values["comment_hash"]  # its stamp unreadable: keep the digest we wrote
        if not known or values["figures_at"] is None:
            values["figures_at"] = at  # adopted: its figures count as written now
        values["comment_id"], values["comment_hash"] = marks.comment_id, digest
        values["comment_absent"] = False
    else:
        # Gone (a person deleted it) or never made; its last meaning stays for `drift`.
        values["comment_id"], values["comment_absent"] = None, True
    owned = labels.owned_in(task.labels)
    if owned and values["label"] is None:
        if first_contact and not marks.comment_id:
            values["replaced_label"] = values["replaced_label"] or owned[0]
        else:
            values["label"] = owned[0]
    if marks.field_value is not None:
        value = marks.field_value
        if first_contact and value and value not in STATUS_SLUGS:
            values["replaced_field"] = values["replaced_field"] or value
        values["field_value"] = value if value in STATUS_SLUGS else None
    return values
