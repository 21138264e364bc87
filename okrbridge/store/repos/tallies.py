"""Stored state of the incremental evaluation: changed tasks, contributions, tallies, fingerprint.

`task_changes` is appended to by every write of a task's content (see `tasks.note_changed`)
and consumed by the compute; `task_contributions` holds what each mapped task last added to
its targets; `target_tallies` the sums per initiative and task-counting key result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from okrbridge.domain import StatusCategory
from okrbridge.engine.progress import TaskTally
from okrbridge.engine.tallies import Contribution
from okrbridge.store.models import (
    PushQueueRow,
    PushStateRow,
    TallyStateRow,
    TargetTallyRow,
    TaskChangeRow,
    TaskContributionRow,
    TaskRow,
)
from okrbridge.store.repos._sql import chunked, dialect_name, insert_rows

__all__ = [
    "TALLY_STATE",
    "TallyKey",
    "TallyState",
    "changed_task_ids",
    "clear_changes",
    "in_flight_tasks",
    "latest_change",
    "load_contributions",
    "load_state",
    "load_tallies",
    "pending_changes",
    "plan_state_name",
    "refresh_due_tasks",
    "replace_tallies",
    "save_contributions",
    "save_state",
    "save_tallies",
]

CHANGES: Table = TaskChangeRow.__table__  # type: ignore[assignment]
CONTRIBUTIONS: Table = TaskContributionRow.__table__  # type: ignore[assignment]
TALLIES: Table = TargetTallyRow.__table__  # type: ignore[assignment]
STATE: Table = TallyStateRow.__table__  # type: ignore[assignment]
TASKS: Table = TaskRow.__table__  # type: ignore[assignment]
QUEUE: Table = PushQueueRow.__table__  # type: ignore[assignment]
PUSHED: Table = PushStateRow.__table__  # type: ignore[assignment]

TallyKey = tuple[str, str]
"""`(kind, target id)`: kind is "initiative" or "key_result"."""

_CATEGORIES = {category.value: category for category in StatusCategory}


@dataclass
class TallyState:
    """One `tally_state` row: a fingerprint, a change number and key-result statuses."""

    fingerprint: str
    seq: int
    statuses: dict[str, str] = field(default_factory=dict)


TALLY_STATE = "tallies"


def plan_state_name(instance: str) -> str:
    return f"plan:{instance}"


def pending_changes(session: Session, after: int) -> tuple[int, list[tuple[str, str]]]:
    """The newest change number and the distinct tasks changed after `after` up to it."""
    upto = session.scalar(select(func.max(CHANGES.c.seq)))
    if upto is None or upto <= after:
        return after, []
    query = (
        select(CHANGES.c.connector, CHANGES.c.external_id)
        .where(CHANGES.c.seq > after, CHANGES.c.seq <= upto)
        .distinct()
    )
    return int(upto), [(c, e) for c, e in session.execute(query)]


def latest_change(session: Session) -> int:
    return int(session.scalar(select(func.max(CHANGES.c.seq))) or 0)


def changed_task_ids(session: Session, connector: str, after: int, upto: int) -> set[int]:
    """Store ids of the tasks of `connector` changed after change `after` up to `upto`."""
    query = (
        select(TASKS.c.id)
        .join(
            CHANGES,
            (CHANGES.c.connector == TASKS.c.connector)
            & (CHANGES.c.external_id == TASKS.c.external_id),
        )
        .where(CHANGES.c.connector == connector, CHANGES.c.seq > after, CHANGES.c.seq <= upto)
    )
    return set(session.scalars(query))


def clear_changes(session: Session, connector: str, upto: int) -> None:
    """Forget the changes of `connector` its plans followed (later ones stay)."""
    session.execute(delete(CHANGES).where(CHANGES.c.connector == connector, CHANGES.c.seq <= upto))


def load_state(session: Session, name: str, *, lock: bool = False) -> TallyState | None:
    """A state row (None: never written); `lock` holds it until the transaction ends.

    Two replicas thus never apply the same changes twice: on PostgreSQL the row is locked
    (`FOR UPDATE`); on SQLite a no-op write takes the database's write lock first.
    """
    query = select(STATE.c.fingerprint, STATE.c.seq, STATE.c.statuses).where(STATE.c.name == name)
    if lock and dialect_name(session) == "postgresql":
        query = query.with_for_update()
        # Change numbers are handed out before their transactions commit: wait for the
        # writers in progress, so no smaller number can appear below a watermark later.
        session.execute(text("LOCK TABLE task_changes IN SHARE MODE"))
    elif lock:  # take SQLite's write lock before reading, not at the first write
        session.execute(update(STATE).where(STATE.c.name == name).values(name=name))
    row = session.execute(query).first()
    return None if row is None else TallyState(row[0], int(row[1]), dict(row[2] or {}))


def save_state(session: Session, name: str, state: TallyState, now: datetime) -> None:
    session.execute(delete(STATE).where(STATE.c.name == name))
    session.execute(
        insert(STATE).values(
            name=name,
            fingerprint=state.fingerprint,
            seq=state.seq,
            statuses=state.statuses,
            updated_at=now,
        )
    )


def in_flight_tasks(session: Session, connector: str) -> set[int]:
    """Store ids of the tasks with an in-flight write in `connector`'s queue (a drain that
    stopped mid-write: only the lease holder drains, so none is live while it plans)."""
    query = select(QUEUE.c.task_id).where(
        QUEUE.c.connector == connector, QUEUE.c.status == "in_flight"
    )
    return set(session.scalars(query))


def refresh_due_tasks(
    session: Session, connector: str, before: datetime, after: int, limit: int
) -> list[int]:
    """Ids (ascending, above `after`) of tasks whose bridge comment's figures were written
    before `before` (or never dated)."""
    query = (
        select(PUSHED.c.task_id)
        .where(
            PUSHED.c.connector == connector,
            PUSHED.c.comment_id.is_not(None),
            PUSHED.c.figures_at.is_(None) | (PUSHED.c.figures_at < before),
            PUSHED.c.task_id > after,
        )
        .order_by(PUSHED.c.task_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def load_contributions(session: Session, task_ids: Sequence[int]) -> dict[int, Contribution]:
    """What each of the given tasks last contributed (tasks mapped to nothing are absent)."""
    found: dict[int, Contribution] = {}
    columns = (
        CONTRIBUTIONS.c.task_id,
        CONTRIBUTIONS.c.category,
        CONTRIBUTIONS.c.excluded,
        CONTRIBUTIONS.c.estimate,
    )
    for chunk in chunked(sorted(task_ids)):
        query = select(*columns).where(CONTRIBUTIONS.c.task_id.in_(chunk))
        for task_id, category, excluded, estimate in session.execute(query):
            found[task_id] = Contribution(_CATEGORIES[category], bool(excluded), estimate)
    return found


def save_contributions(
    session: Session, changes: Mapping[int, Contribution | None], *, fresh: bool = False
) -> None:
    """Store each task's new contribution (None: it is mapped to nothing any more).

    `fresh`: none of these tasks has a stored contribution (nothing to delete first).
    """
    if not fresh:
        for chunk in chunked(sorted(changes)):
            session.execute(delete(CONTRIBUTIONS).where(CONTRIBUTIONS.c.task_id.in_(chunk)))
    rows = [
        {
            "task_id": task_id,
            "category": c.category.value,
            "excluded": c.excluded,
            "estimate": c.estimate,
        }
        for task_id, c in changes.items()
        if c is not None
    ]
    if rows:
        insert_rows(session, CONTRIBUTIONS, rows)


_COUNTS = ("todo", "in_progress", "done")


def load_tallies(session: Session) -> dict[TallyKey, TaskTally]:
    tallies: dict[TallyKey, TaskTally] = {}
    for row in session.execute(select(TALLIES)).mappings():
        tallied = TaskTally(excluded=row["excluded"])
        for name in _COUNTS:
            category = _CATEGORIES[name]
            tallied.count[category] = row[name]
            tallied.estimate[category] = row[f"{name}_estimate"]
            tallied.missing[category] = row[f"{name}_missing"]
        tallies[(row["kind"], row["target_id"])] = tallied
    return tallies


def _row(key: TallyKey, tallied: TaskTally) -> dict[str, Any]:
    row: dict[str, Any] = {"kind": key[0], "target_id": key[1], "excluded": tallied.excluded}
    for name in _COUNTS:
        category = _CATEGORIES[name]
        row[name] = tallied.count[category]
        row[f"{name}_estimate"] = tallied.estimate[category]
        row[f"{name}_missing"] = tallied.missing[category]
    return row


def save_tallies(
    session: Session, tallies: Mapping[TallyKey, TaskTally], keys: Iterable[TallyKey]
) -> None:
    """Rewrite the stored tallies of `keys` (a handful of rows per sync)."""
    wanted = sorted(set(keys))
    if not wanted:
        return
    session.execute(
        delete(TALLIES).where(
            TALLIES.c.kind == bindparam("k"), TALLIES.c.target_id == bindparam("t")
        ),
        [{"k": kind, "t": target} for kind, target in wanted],
    )
    rows = [_row(key, tallies[key]) for key in wanted if _counts_any(tallies[key])]
    if rows:  # a target left with no task has no row, as after a recount
        session.execute(insert(TALLIES), rows)


def _counts_any(tallied: TaskTally) -> bool:
    return tallied.total + tallied.excluded > 0


def replace_tallies(session: Session, tallies: Mapping[TallyKey, TaskTally]) -> None:
    """Make the stored tallies exactly `tallies` (after a full recount)."""
    session.execute(delete(TALLIES))
    if tallies:
        session.execute(insert(TALLIES), [_row(key, t) for key, t in sorted(tallies.items())])
