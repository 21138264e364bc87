"""Tasks: batched upserts that rewrite only changed rows, deletion marking, fast loading."""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, Text, cast, literal, select, update
from sqlalchemy.orm import Session

from okrbridge.domain import StatusCategory, Task, TaskRef
from okrbridge.store.models import SyncRunRow, TaskChangeRow, TaskRow
from okrbridge.store.repos._sql import chunked, insert_rows, now_or, upsert_insert
from okrbridge.store.text import clean, clean_text, may_need_cleaning

__all__ = [
    "StoredTask",
    "UpsertResult",
    "content_hash",
    "get_task_ids",
    "iter_live_tasks",
    "iter_stored_tasks",
    "load_tasks",
    "load_tasks_by_id",
    "load_tasks_with_ids",
    "mark_deleted",
    "mark_unseen_deleted",
    "note_changed",
    "task_row",
    "upsert_tasks",
]

TASKS: Table = TaskRow.__table__  # type: ignore[assignment]
CHANGES: Table = TaskChangeRow.__table__  # type: ignore[assignment]

_CONTENT = (
    "key",
    "url",
    "title",
    "container",
    "container_aliases",
    "status_name",
    "status_category",
    "excluded",
    "labels",
    "assignees",
    "estimate",
    "parent",
    "due",
    "fields",
    "updated_at",
    "deleted",
    "raw",
)
"""Columns that carry the task's content; a change in any of them rewrites the row."""

_WHOLE_CONNECTOR = 2_000
"""Above this many refs of one connector, one query over the connector beats many IN lists."""


@dataclass(frozen=True)
class UpsertResult:
    """How many tasks an upsert inserted, rewrote, or found unchanged."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> int:
        return self.inserted + self.updated

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )


def task_row(task: Task) -> dict[str, Any]:
    """The `tasks` columns of a task (without bookkeeping columns)."""
    updated_at = task.updated_at
    if updated_at is not None:
        if updated_at.tzinfo is None:
            raise ValueError(f"task {task.connector}/{task.key} has a naive updated_at")
        updated_at = updated_at.astimezone(UTC)
    return {
        "connector": task.connector,
        "external_id": task.external_id,
        "key": task.key,
        "url": task.url,
        "title": task.title,
        "container": task.container,
        "container_aliases": list(task.container_aliases),
        "status_name": task.status_name,
        "status_category": StatusCategory(task.status_category).value,
        "excluded": task.excluded,
        "labels": list(task.labels),
        "assignees": list(task.assignees),
        "estimate": task.estimate,
        "parent": task.parent,
        "due": task.due,
        "fields": dict(task.fields),
        "updated_at": updated_at,
        "deleted": task.deleted,
        "raw": task.raw,
    }


def content_hash(row: dict[str, Any]) -> str:
    """Digest of a task row's content columns."""
    return hashlib.sha256(_content_text(row).encode()).hexdigest()


def _content_text(row: dict[str, Any]) -> str:
    # Without aliases the digest is the one stored before they existed: no mass rewrite.
    content = {name: row[name] for name in _CONTENT if name != "container_aliases" or row[name]}
    return json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))


def _stored_row(task: Task) -> dict[str, Any]:
    """The row to store for a task, its text normalised (`okrbridge.store.text`), with the
    digest of its content. The content's JSON, written for the digest anyway, tells whether
    any string needs normalising, so clean tasks cost no extra pass."""
    row = task_row(task)
    row["connector"] = clean_text(row["connector"])
    row["external_id"] = clean_text(row["external_id"])
    text = _content_text(row)
    if may_need_cleaning(text):
        row = {name: clean(value) for name, value in row.items()}
        text = _content_text(row)
    row["content_hash"] = hashlib.sha256(text.encode()).hexdigest()
    return row


def upsert_tasks(
    session: Session, tasks: Sequence[Task], run_id: int | None, *, now: datetime | None = None
) -> UpsertResult:
    """Insert new tasks, rewrite changed ones, and mark all of them seen by `run_id`.

    Existing hashes are read with one query per chunk; only new or changed rows go through
    `INSERT ... ON CONFLICT DO UPDATE`, unchanged ones get one UPDATE of their seen-markers.
    `run_id` None (e.g. a webhook) leaves `last_seen_run` as it was on existing rows.
    """
    seen_at = now_or(now)
    rows_by_ref: dict[tuple[str, str], dict[str, Any]] = {}
    for task in tasks:  # the last state of a task repeated in one batch wins
        row = _stored_row(task)
        rows_by_ref[(row["connector"], row["external_id"])] = row
    by_connector: dict[str, list[dict[str, Any]]] = {}
    for (connector, _), row in rows_by_ref.items():
        by_connector.setdefault(connector, []).append(row)
    result = UpsertResult()
    for connector, rows in by_connector.items():
        for chunk in chunked(rows):
            result += _upsert_chunk(session, connector, chunk, run_id, seen_at)
    return result


def _upsert_chunk(
    session: Session,
    connector: str,
    rows: Sequence[dict[str, Any]],
    run_id: int | None,
    seen_at: datetime,
) -> UpsertResult:
    ids = [row["external_id"] for row in rows]
    stored: dict[str, str | None] = {
        external_id: digest
        for external_id, digest in session.execute(
            select(TASKS.c.external_id, TASKS.c.content_hash).where(
                TASKS.c.connector == connector, TASKS.c.external_id.in_(ids)
            )
        )
    }
    writes: list[dict[str, Any]] = []
    unchanged: list[str] = []
    for row in rows:
        if stored.get(row["external_id"], "") == row["content_hash"]:
            unchanged.append(row["external_id"])
        else:
            writes.append(row)
    if writes:
        _write_rows(session, writes, run_id, seen_at)
    if unchanged:
        _touch(session, connector, unchanged, run_id, seen_at)
    inserted = sum(1 for row in writes if row["external_id"] not in stored)
    return UpsertResult(inserted, len(writes) - inserted, len(unchanged))


def _write_rows(
    session: Session, rows: Sequence[dict[str, Any]], run_id: int | None, seen_at: datetime
) -> None:
    params = [
        {**row, "first_seen_at": seen_at, "last_seen_at": seen_at, "last_seen_run": run_id}
        for row in rows
    ]
    stmt = upsert_insert(session, TASKS)
    refresh = [*_CONTENT, "content_hash", "last_seen_at"]
    if run_id is not None:
        refresh.append("last_seen_run")
    stmt = stmt.on_conflict_do_update(
        index_elements=[TASKS.c.connector, TASKS.c.external_id],
        set_={name: stmt.excluded[name] for name in refresh},
    )
    session.execute(stmt, params)
    note_changed(session, [(row["connector"], row["external_id"]) for row in rows])


def note_changed(session: Session, refs: Sequence[tuple[str, str]]) -> None:
    """Record that these tasks were written: the next compute re-evaluates them (and only them).

    Every write to a task's content goes through here (upserts and deletion marks), so the
    compute needs no scan of the store to learn what changed.
    """
    insert_rows(session, CHANGES, [{"connector": c, "external_id": e} for c, e in refs])


def _touch(
    session: Session, connector: str, ids: Sequence[str], run_id: int | None, seen_at: datetime
) -> None:
    values: dict[str, Any] = {"last_seen_at": seen_at}
    if run_id is not None:
        values["last_seen_run"] = run_id
    session.execute(
        update(TASKS)
        .where(TASKS.c.connector == connector, TASKS.c.external_id.in_(ids))
        .values(values)
    )


def mark_deleted(session: Session, connector: str, ids: Iterable[str]) -> int:
    """Mark the given tasks deleted (as the tool reported); return how many changed.

    Ids are normalised as stored (`okrbridge.store.text`)."""
    count = 0
    for chunk in chunked(sorted({clean_text(i) for i in ids})):
        gone = session.scalars(
            update(TASKS)
            .where(
                TASKS.c.connector == connector,
                TASKS.c.external_id.in_(chunk),
                TASKS.c.deleted.is_(False),
            )
            .values(deleted=True, content_hash=None)
            .returning(TASKS.c.external_id)
        ).all()
        note_changed(session, [(connector, external_id) for external_id in gone])
        count += len(gone)
    return count


def mark_unseen_deleted(session: Session, connector: str, run_id: int) -> int:
    """After a full pass: mark deleted every live task of `connector` that run did not see.

    A task seen by any path after the run started (a webhook, say) is spared too.
    """
    started = session.scalar(select(SyncRunRow.started_at).where(SyncRunRow.id == run_id))
    unseen = TASKS.c.last_seen_run.is_(None) | (TASKS.c.last_seen_run != run_id)
    condition = [TASKS.c.connector == connector, TASKS.c.deleted.is_(False), unseen]
    if started is not None:
        condition.append(TASKS.c.last_seen_at < started)
    gone = session.scalars(
        update(TASKS)
        .where(*condition)
        .values(deleted=True, content_hash=None)
        .returning(TASKS.c.external_id)
    ).all()
    note_changed(session, [(connector, external_id) for external_id in gone])
    return len(gone)


_JSON_COLUMNS = ("labels", "assignees", "fields", "raw", "container_aliases")
_PLAIN_COLUMNS = tuple(
    name for name in ("connector", "external_id", *_CONTENT) if name not in _JSON_COLUMNS
)


def load_tasks(
    session: Session,
    connector: str | None = None,
    include_deleted: bool = False,
    *,
    include_raw: bool = True,
) -> list[Task]:
    """The stored tasks as domain objects, in insertion order.

    Rows are trusted (they were validated on the way in), so objects are built without
    validation; `include_raw=False` skips decoding the payloads when only content is needed.
    """
    return [
        task
        for _, task in load_tasks_with_ids(
            session, connector, include_deleted, include_raw=include_raw
        )
    ]


def load_tasks_with_ids(
    session: Session,
    connector: str | None = None,
    include_deleted: bool = False,
    *,
    include_raw: bool = True,
) -> list[tuple[int, Task]]:
    """`load_tasks` with each task's store id."""
    conditions: list[ColumnElement[bool]] = []
    if connector is not None:
        conditions.append(TASKS.c.connector == connector)
    if not include_deleted:
        conditions.append(TASKS.c.deleted.is_(False))
    query = _task_query(include_raw).where(*conditions).order_by(TASKS.c.id)
    with _gc_paused():
        return list(_build_tasks(session, query))


def iter_live_tasks(
    session: Session, connector: str, *, page: int = 5_000
) -> Iterator[list[tuple[int, Task]]]:
    """The live tasks of `connector` with their store ids, in pages of at most `page` in id
    order (keyset pagination: memory stays at one page); payloads are not decoded."""
    after = -1
    while True:
        query = (
            _task_query(include_raw=False)
            .where(TASKS.c.connector == connector, TASKS.c.deleted.is_(False), TASKS.c.id > after)
            .order_by(TASKS.c.id)
            .limit(page)
        )
        with _gc_paused():
            found = list(_build_tasks(session, query))
        if not found:
            return
        yield found
        after = found[-1][0]


def load_tasks_by_id(
    session: Session, task_ids: Iterable[int], *, include_raw: bool = False
) -> dict[int, Task]:
    """The given stored tasks (deleted ones too) as domain objects, by store id."""
    wanted = sorted(set(task_ids))
    found: dict[int, Task] = {}
    with _gc_paused():
        for chunk in chunked(wanted):
            query = _task_query(include_raw).where(TASKS.c.id.in_(chunk))
            found.update(_build_tasks(session, query))
    return found


def _task_query(include_raw: bool) -> Select[Any]:
    raw_column = TASKS.c.raw if include_raw else literal("{}")
    json_columns = [
        TASKS.c.labels,
        TASKS.c.assignees,
        TASKS.c.fields,
        raw_column,
        TASKS.c.container_aliases,
    ]
    return select(
        TASKS.c.id,
        *(TASKS.c[name] for name in _PLAIN_COLUMNS),
        # The JSON columns come back as text and are decoded with one call per row: per-call
        # overhead, not parsing, dominates decoding many small documents.
        *(cast(column, Text) for column in json_columns),
    )


def _build_tasks(session: Session, query: Select[Any]) -> Iterator[tuple[int, Task]]:
    categories = {category.value: category for category in StatusCategory}
    plain = len(_PLAIN_COLUMNS) + 1
    for row in session.execute(query).all():
        fields = dict(zip(_PLAIN_COLUMNS, row[1:plain], strict=True))
        labels, assignees, extra, raw, aliases = json.loads("[{},{},{},{},{}]".format(*row[plain:]))
        fields.update(labels=tuple(labels), assignees=tuple(assignees), fields=extra, raw=raw)
        fields["container_aliases"] = tuple(aliases)
        fields["status_category"] = categories[fields["status_category"]]
        fields["marks"] = None  # marks live in push_state, not on the stored task
        yield row[0], _trusted_task(fields)


@dataclass(frozen=True, slots=True)
class StoredTask:
    """The columns of a stored task the engine maps and tallies (a `TaskView`), with its id."""

    id: int
    connector: str
    external_id: str
    container: str
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    status_category: str
    excluded: bool
    estimate: float | None
    parent: str | None
    title: str
    fields: dict[str, Any]
    deleted: bool
    container_aliases: tuple[str, ...] = ()


_STORED = ("id", "connector", "external_id", "container", "status_category", "excluded")
_STORED_TAIL = ("estimate", "parent", "title", "deleted")


def _stored_query() -> Select[Any]:
    return select(
        *(TASKS.c[name] for name in _STORED),
        *(TASKS.c[name] for name in _STORED_TAIL),
        *(
            cast(TASKS.c[name], Text)
            for name in ("labels", "assignees", "fields", "container_aliases")
        ),
    )


def _stored(row: Sequence[Any]) -> StoredTask:
    labels, assignees, extra, aliases = json.loads("[{},{},{},{}]".format(*row[10:]))
    return StoredTask(
        row[0], row[1], row[2], row[3], tuple(labels), tuple(assignees), row[4],
        bool(row[5]), row[6], row[7], row[8], extra, bool(row[9]), tuple(aliases),
    )  # fmt: skip


def iter_stored_tasks(
    session: Session,
    *,
    page: int = 20_000,
    refs: Sequence[tuple[str, str]] | None = None,
) -> Iterator[list[StoredTask]]:
    """Stored tasks (deleted ones too) in pages of at most `page`, as light `StoredTask`s.

    Every task in id order (keyset pagination: memory stays at one page), or only `refs`.
    """
    if refs is not None:
        by_connector: dict[str, list[str]] = {}
        for connector, external_id in refs:
            by_connector.setdefault(connector, []).append(external_id)
        for connector, ids in by_connector.items():
            for chunk in chunked(sorted(set(ids))):
                query = _stored_query().where(
                    TASKS.c.connector == connector, TASKS.c.external_id.in_(chunk)
                )
                yield [_stored(row) for row in session.execute(query)]
        return
    after = -1
    while True:
        query = _stored_query().where(TASKS.c.id > after).order_by(TASKS.c.id).limit(page)
        rows = session.execute(query).all()
        if not rows:
            return
        yield [_stored(row) for row in rows]
        after = rows[-1][0]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that stay alive.

    Each collection would rescan the growing list: ~35% of the time of loading 100k tasks.
    Reference counting still frees memory meanwhile; the collector resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_TASK_FIELDS = tuple(Task.model_fields)
_ALL_FIELDS_SET = set(_TASK_FIELDS)
"""Shared by every loaded task: Task is frozen, so pydantic never changes it in place, and
`model_copy` copies it. One set instead of one per task saves ~70 MB at 100,000 tasks."""


def _trusted_task(values: dict[str, Any]) -> Task:
    """A Task from complete, already valid field values, skipping validation.

    Does what `Task.model_construct` does for a complete set of fields, about 10 times
    faster (it matters at 100k tasks); the attributes set are pydantic's documented ones.
    """
    task = object.__new__(Task)
    object.__setattr__(task, "__dict__", {name: values[name] for name in _TASK_FIELDS})
    object.__setattr__(task, "__pydantic_fields_set__", _ALL_FIELDS_SET)
    object.__setattr__(task, "__pydantic_extra__", None)
    object.__setattr__(task, "__pydantic_private__", None)
    return task


def get_task_ids(session: Session, refs: Iterable[TaskRef | tuple[str, str]]) -> dict[TaskRef, int]:
    """Store ids of the given tasks; refs not in the store are absent from the result.

    Ids are looked up as stored (normalised, `okrbridge.store.text`) and answered under the
    refs as given."""
    wanted: dict[str, dict[str, set[str]]] = {}  # connector -> stored id -> ids as given
    for ref in refs:
        connector, external_id = (
            (ref.connector, ref.external_id) if isinstance(ref, TaskRef) else ref
        )
        stored = wanted.setdefault(clean_text(connector), {})
        stored.setdefault(clean_text(external_id), set()).add(external_id)
    found: dict[TaskRef, int] = {}
    for connector, ids in wanted.items():
        for external_id, task_id in _ids_of(session, connector, set(ids)):
            for given in ids.get(external_id, ()):
                ref = TaskRef.model_construct(connector=connector, external_id=given)
                found[ref] = task_id
    return found


def _ids_of(session: Session, connector: str, ids: set[str]) -> list[tuple[str, int]]:
    base = select(TASKS.c.external_id, TASKS.c.id).where(TASKS.c.connector == connector)
    if len(ids) > _WHOLE_CONNECTOR:
        return list(session.execute(base))
    rows: list[tuple[str, int]] = []
    for chunk in chunked(sorted(ids)):
        rows.extend(session.execute(base.where(TASKS.c.external_id.in_(chunk))))
    return rows
