"""Pages of the tasks mapped to an initiative (or counted by a key result), read with LIMIT.

The mapping is the one the last sync stored (`task_initiatives`, `task_key_results`): a task
deleted since stays listed until the next sync unmaps it, as it stays counted. The order puts
what needs looking at first: overdue open tasks (earliest due first), then tasks in progress,
then to do, then done, each the longest untouched first (stalled work rises).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, func, select
from sqlalchemy.orm import Session

from okrbridge.domain import StatusCategory
from okrbridge.store.models import PushStateRow, TaskInitiativeRow, TaskKeyResultRow, TaskRow

__all__ = ["TaskLine", "TaskPage", "count_tasks", "task_page"]

TASKS: Table = TaskRow.__table__  # type: ignore[assignment]
INITIATIVE_LINKS: Table = TaskInitiativeRow.__table__  # type: ignore[assignment]
KR_LINKS: Table = TaskKeyResultRow.__table__  # type: ignore[assignment]
PUSHED: Table = PushStateRow.__table__  # type: ignore[assignment]

INITIATIVE, KEY_RESULT = "initiative", "key_result"
_LINKS = {
    INITIATIVE: (INITIATIVE_LINKS, INITIATIVE_LINKS.c.initiative_id),
    KEY_RESULT: (KR_LINKS, KR_LINKS.c.key_result_id),
}
_CATEGORIES = {category.value: category for category in StatusCategory}


@dataclass(frozen=True)
class TaskLine:
    """One task as a list shows it."""

    key: str
    url: str
    title: str
    status_name: str
    category: StatusCategory
    due: date | None
    label: str | None
    """The status label the bridge last put on the task (None: none)."""
    overdue: bool


@dataclass(frozen=True)
class TaskPage:
    """Some of a target's tasks, in list order, and where they sit among all of them."""

    lines: tuple[TaskLine, ...]
    total: int
    offset: int

    @property
    def more(self) -> int:
        """Tasks after this page."""
        return max(self.total - self.offset - len(self.lines), 0)


def count_tasks(session: Session, kind: str, target_ids: Sequence[str]) -> dict[str, int]:
    """Target id -> how many tasks are mapped to it (targets without any are absent)."""
    if not target_ids:
        return {}
    _, target = _LINKS[kind]
    query = select(target, func.count()).where(target.in_(target_ids)).group_by(target)
    return {name: int(count) for name, count in session.execute(query)}


def task_page(
    session: Session,
    kind: str,
    target_id: str,
    *,
    today: date,
    offset: int,
    limit: int,
    total: int | None = None,
) -> TaskPage:
    """Tasks `offset` to `offset + limit` of one target (`kind`: "initiative" or
    "key_result"); `total` when the caller already counted them."""
    if total is None:
        total = count_tasks(session, kind, [target_id]).get(target_id, 0)
    if limit <= 0 or offset >= total:
        return TaskPage((), total, offset)
    links, target = _LINKS[kind]
    c = TASKS.c
    overdue = and_(c.due.is_not(None), c.due < today, c.status_category != "done")
    rank = case(
        (overdue, 0),
        (c.status_category == "in_progress", 1),
        (c.status_category == "todo", 2),
        else_=3,
    )
    order: list[ColumnElement[object]] = [
        rank,
        case((overdue, c.due), else_=None),
        c.updated_at.asc().nulls_last(),
        c.id,
    ]
    query = (
        select(c.key, c.url, c.title, c.status_name, c.status_category, c.due, PUSHED.c.label)
        .select_from(links.join(TASKS, c.id == links.c.task_id))
        .outerjoin(PUSHED, PUSHED.c.task_id == c.id)
        .where(target == target_id)
        .order_by(*order)
        .offset(offset)
        .limit(limit)
    )
    lines = tuple(_line(row, today) for row in session.execute(query))
    return TaskPage(lines, total, offset)


def _line(row: Sequence[Any], today: date) -> TaskLine:
    key, url, title, status_name, category_text, due, label = row
    category = _CATEGORIES.get(category_text, StatusCategory.TODO)
    late = due is not None and due < today and category is not StatusCategory.DONE
    return TaskLine(key, url, title, status_name, category, due, label or None, late)
