"""The problem tasks of a key result at risk, found by the store: open tasks it covers that
are overdue or stalled, the worst first, at most a limit of them loaded whatever the store
holds (the count of the rest comes from the same query)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, and_, case, func, or_, select, union
from sqlalchemy.orm import Session

from okrbridge.domain import KeyResultResult, StatusCategory, Task
from okrbridge.engine import Evaluation
from okrbridge.engine.pace import as_utc
from okrbridge.store.models import TaskInitiativeRow, TaskKeyResultRow, TaskRow
from okrbridge.store.repos.mapping import load_links
from okrbridge.store.repos.tasks import load_tasks_by_id

__all__ = ["COUNTED", "ProblemTask", "problem_task", "stored_problems"]

TASKS: Table = TaskRow.__table__  # type: ignore[assignment]
LINKS: Table = TaskInitiativeRow.__table__  # type: ignore[assignment]
KR_LINKS: Table = TaskKeyResultRow.__table__  # type: ignore[assignment]

COUNTED = "counted by the key result"
"""Where a problem task comes from when no initiative of the key result maps it."""


@dataclass(frozen=True)
class ProblemTask:
    """An open task that is late or has not moved for a while."""

    task: Task
    initiative_title: str
    overdue_days: int | None
    """Days past its due date (None: not overdue)."""
    idle_days: int | None
    """Days since its last update, when that makes it stalled (None: not stalled)."""


def problem_task(
    task: Task, initiative: str, now: datetime, stalled_days: int
) -> ProblemTask | None:
    """The task as a problem when it is open and overdue or stalled, else None."""
    if task.status_category is StatusCategory.DONE or task.excluded or task.deleted:
        return None
    overdue = (now.date() - task.due).days if task.due and task.due < now.date() else None
    idle = None
    if task.updated_at is not None:
        quiet = as_utc(now) - as_utc(task.updated_at)
        if quiet >= timedelta(days=stalled_days):
            idle = quiet.days
    if overdue is None and idle is None:
        return None
    return ProblemTask(task, initiative, overdue, idle)


def stored_problems(
    session: Session,
    kr: KeyResultResult,
    evaluation: Evaluation,
    *,
    now: datetime,
    stalled_days: int,
    limit: int | None,
) -> tuple[tuple[ProblemTask, ...], int]:
    """The worst `limit` problem tasks of `kr` (None: all), and how many there are in all.

    The same tasks, in the same order, as testing every mapped task with `problem_task`:
    overdue first (the longest overdue first), then the longest idle.
    """
    initiative_ids = [i for i in kr.initiative_ids if i in evaluation.initiatives]
    # One set of ids (a UNION, not an OR of two IN lists, which PostgreSQL answers by
    # scanning every task), then each task looked up by its key.
    ids_covered = union(
        select(KR_LINKS.c.task_id).where(KR_LINKS.c.key_result_id == kr.id),
        select(LINKS.c.task_id).where(LINKS.c.initiative_id.in_(initiative_ids)),
    )
    covered = TASKS.c.id.in_(ids_covered)
    overdue = and_(TASKS.c.due.is_not(None), TASKS.c.due < now.date())
    stalled_before = as_utc(now) - timedelta(days=stalled_days)
    stalled = and_(TASKS.c.updated_at.is_not(None), TASKS.c.updated_at <= stalled_before)
    where: Sequence[ColumnElement[bool]] = (
        covered,
        TASKS.c.deleted.is_(False),
        TASKS.c.excluded.is_(False),
        TASKS.c.status_category != StatusCategory.DONE.value,
        or_(overdue, stalled),
    )
    total = int(session.scalar(select(func.count()).select_from(TASKS).where(*where)) or 0)
    worst = (
        select(TASKS.c.id)
        .where(*where)
        .order_by(
            case((overdue, TASKS.c.due)).asc().nulls_last(),
            case((stalled, TASKS.c.updated_at)).asc().nulls_last(),
            TASKS.c.id,
        )
    )
    if limit is not None:
        worst = worst.limit(limit)
    ids = list(session.scalars(worst))
    tasks = load_tasks_by_id(session, ids)
    links = load_links(session, ids)
    found = []
    for task_id in ids:
        served = links[task_id].initiatives if task_id in links else frozenset()
        source = next(
            (evaluation.initiatives[i].title for i in initiative_ids if i in served), COUNTED
        )
        problem = problem_task(tasks[task_id], source, now, stalled_days)
        if problem is not None:  # (the query asked the same; this builds the figures)
            found.append(problem)
    found.sort(key=lambda p: (-(p.overdue_days or 0), -(p.idle_days or 0)))
    return tuple(found), total
