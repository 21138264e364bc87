"""Which initiatives each task belongs to (written by the engine's mapping step)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.orm import Session

from okrbridge.domain import TaskRef
from okrbridge.store.models import TaskInitiativeRow
from okrbridge.store.repos._sql import chunked
from okrbridge.store.repos.tasks import get_task_ids

__all__ = ["MappingChange", "TaskKey", "load_task_initiatives", "replace_task_initiatives"]

LINKS: Table = TaskInitiativeRow.__table__  # type: ignore[assignment]

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
