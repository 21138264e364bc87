"""Which initiatives (and task-counting key results) each task belongs to.

The incremental compute writes these by difference for the tasks that changed
(`load_links` + `apply_link_changes`); `replace_task_initiatives` remains for callers that
hold a whole mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.orm import Session

from okrbridge.domain import TaskRef
from okrbridge.store.models import TaskInitiativeRow, TaskKeyResultRow, TaskRow
from okrbridge.store.repos._sql import chunked, insert_rows
from okrbridge.store.repos.tasks import get_task_ids

__all__ = [
    "Links",
    "MappingChange",
    "TaskKey",
    "apply_link_changes",
    "load_links",
    "load_task_initiatives",
    "replace_task_initiatives",
    "tasks_of_initiatives",
]

LINKS: Table = TaskInitiativeRow.__table__  # type: ignore[assignment]
KR_LINKS: Table = TaskKeyResultRow.__table__  # type: ignore[assignment]
TASKS: Table = TaskRow.__table__  # type: ignore[assignment]

_EMPTY: frozenset[str] = frozenset()

TaskKey = int | TaskRef | tuple[str, str]
"""A task as a store id, a `TaskRef`, or a `(connector, external_id)` pair."""


@dataclass(frozen=True)
class MappingChange:
    added: int
    removed: int


def replace_task_initiatives(
    session: Session,
    mapping: Mapping[TaskKey, Iterable[str]],
    *,
    replace_all: bool = False,
) -> MappingChange:
    """Make each given task belong to exactly the given initiatives.

    Only the difference is written. With `replace_all`, tasks absent from `mapping` lose all
    their initiatives (the mapping is then the complete picture).
    """
    desired = _resolve(session, mapping)
    existing = _existing(session, None if replace_all else list(desired))
    want = {(task_id, initiative) for task_id, items in desired.items() for initiative in items}
    have = {(task_id, initiative) for task_id, items in existing.items() for initiative in items}
    removed = sorted(have - want)
    added = sorted(want - have)
    if removed:
        session.execute(
            delete(LINKS).where(
                LINKS.c.task_id == bindparam("t"), LINKS.c.initiative_id == bindparam("i")
            ),
            [{"t": task_id, "i": initiative} for task_id, initiative in removed],
        )
    if added:
        session.execute(
            insert(LINKS),
            [{"task_id": task_id, "initiative_id": initiative} for task_id, initiative in added],
        )
    return MappingChange(added=len(added), removed=len(removed))


def load_task_initiatives(session: Session) -> dict[int, frozenset[str]]:
    """Store task id -> its initiative ids (tasks without any are absent)."""
    return {task_id: frozenset(items) for task_id, items in _existing(session, None).items()}


def _resolve(session: Session, mapping: Mapping[TaskKey, Iterable[str]]) -> dict[int, set[str]]:
    refs = [key for key in mapping if not isinstance(key, int)]
    ids = get_task_ids(session, refs) if refs else {}
    resolved: dict[int, set[str]] = {}
    missing: list[str] = []
    for key, initiatives in mapping.items():
        task_id = key if isinstance(key, int) else ids.get(_as_ref(key))
        if task_id is None:
            missing.append(str(key))
            continue
        resolved.setdefault(task_id, set()).update(initiatives)
    if missing:
        raise ValueError(f"{len(missing)} mapped tasks are not in the store, e.g. {missing[:3]}")
    return resolved


def _as_ref(key: TaskRef | tuple[str, str]) -> TaskRef:
    return key if isinstance(key, TaskRef) else TaskRef(connector=key[0], external_id=key[1])


def _existing(session: Session, task_ids: list[int] | None) -> dict[int, set[str]]:
    query = select(LINKS.c.task_id, LINKS.c.initiative_id)
    batches = (
        [query]
        if task_ids is None
        else [query.where(LINKS.c.task_id.in_(chunk)) for chunk in chunked(sorted(task_ids))]
    )
    found: dict[int, set[str]] = {}
    for batch in batches:
        for task_id, initiative in session.execute(batch):
            found.setdefault(task_id, set()).add(initiative)
    return found


@dataclass(frozen=True, slots=True)
class Links:
    """A task's initiatives and the task-counting key results that count it."""

    initiatives: frozenset[str] = _EMPTY
    key_results: frozenset[str] = _EMPTY


RANGE_FROM = 200
"""From this many ids on, dense ids are read by range (an `IN` of thousands of bound
parameters costs more to compile than to run)."""


def load_links(session: Session, task_ids: Iterable[int]) -> dict[int, Links]:
    """The stored links of the given tasks (tasks linked to nothing are absent).

    Dense ids (a page of tasks in id order) are read with one range query per table, sparse
    ones in chunks of `IN`."""
    wanted = sorted(set(task_ids))
    initiatives: dict[int, set[str]] = {}
    key_results: dict[int, set[str]] = {}
    dense = len(wanted) > RANGE_FROM and wanted[-1] - wanted[0] < 4 * len(wanted)
    for table, column, found in (
        (LINKS, LINKS.c.initiative_id, initiatives),
        (KR_LINKS, KR_LINKS.c.key_result_id, key_results),
    ):
        query = select(table.c.task_id, column)
        if dense:
            members = set(wanted)
            ranged = query.where(table.c.task_id.between(wanted[0], wanted[-1]))
            for task_id, target in session.execute(ranged):
                if task_id in members:
                    found.setdefault(task_id, set()).add(target)
            continue
        for chunk in chunked(wanted):
            for task_id, target in session.execute(query.where(table.c.task_id.in_(chunk))):
                found.setdefault(task_id, set()).add(target)
    shared: dict[tuple[frozenset[str], frozenset[str]], Links] = {}  # few distinct link sets
    found_links: dict[int, Links] = {}
    for task_id in initiatives.keys() | key_results.keys():
        key = (frozenset(initiatives.get(task_id, ())), frozenset(key_results.get(task_id, ())))
        links = shared.get(key)
        if links is None:
            links = shared[key] = Links(*key)
        found_links[task_id] = links
    return found_links


def apply_link_changes(
    session: Session, before: Mapping[int, Links], after: Mapping[int, Links]
) -> MappingChange:
    """Write the difference between tasks' stored links (`before`) and their new ones.

    Tasks absent from `after` keep their links; absent from `before`, they had none.
    """
    empty = Links()
    added: list[tuple[Table, str, int, str]] = []
    removed: list[tuple[Table, str, int, str]] = []
    for task_id, new in after.items():
        old = before.get(task_id, empty)
        if old == new:
            continue
        for table, name, old_ids, new_ids in (
            (LINKS, "initiative_id", old.initiatives, new.initiatives),
            (KR_LINKS, "key_result_id", old.key_results, new.key_results),
        ):
            removed += ((table, name, task_id, t) for t in old_ids - new_ids)
            added += ((table, name, task_id, t) for t in new_ids - old_ids)
    for table, name in ((LINKS, "initiative_id"), (KR_LINKS, "key_result_id")):
        gone = [{"t": task_id, "i": target} for tb, _, task_id, target in removed if tb is table]
        if gone:
            session.execute(
                delete(table).where(
                    table.c.task_id == bindparam("t"), table.c[name] == bindparam("i")
                ),
                gone,
            )
        new_rows = [{"task_id": t, name: target} for tb, _, t, target in added if tb is table]
        if new_rows:
            insert_rows(session, table, new_rows)
    return MappingChange(added=len(added), removed=len(removed))


def tasks_of_initiatives(
    session: Session, initiative_ids: Iterable[str], *, connector: str | None = None
) -> set[int]:
    """Store ids of the live tasks mapped to any of the given initiatives (of `connector`)."""
    found: set[int] = set()
    for chunk in chunked(sorted(set(initiative_ids))):
        query = (
            select(LINKS.c.task_id)
            .join(TASKS, TASKS.c.id == LINKS.c.task_id)
            .where(LINKS.c.initiative_id.in_(chunk), TASKS.c.deleted.is_(False))
        )
        if connector is not None:
            query = query.where(TASKS.c.connector == connector)
        found.update(session.scalars(query))
    return found
