"""Task upserts, cursors in the same transaction, deletion detection, loading, mapping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from store_builders import T0, make_task

from okrbridge.domain import StatusCategory, TaskRef
from okrbridge.store.db import Store
from okrbridge.store.models import TaskInitiativeRow, TaskRow
from okrbridge.store.repos import (
    get_cursor,
    get_cursor_state,
    get_task_ids,
    load_task_initiatives,
    load_tasks,
    mark_deleted,
    mark_unseen_deleted,
    replace_task_initiatives,
    set_cursor,
    start_run,
    upsert_tasks,
)
from okrbridge.store.repos.tasks import UpsertResult


def test_upsert_counts_inserted_updated_unchanged(store: Store) -> None:
    tasks = [make_task(n) for n in range(5)]
    with store.session() as session:
        assert upsert_tasks(session, tasks, None) == UpsertResult(5, 0, 0)
    changed = [*tasks[:3], tasks[3].model_copy(update={"title": "renamed"}), make_task(9)]
    with store.session() as session:
        assert upsert_tasks(session, changed, None) == UpsertResult(1, 1, 3)
    with store.session() as session:
        assert upsert_tasks(session, changed, None) == UpsertResult(0, 0, 5)
        rows = {t.external_id: t for t in load_tasks(session)}
    assert rows[tasks[3].external_id].title == "renamed"
    assert len(rows) == 6


def test_upsert_marks_tasks_seen_by_the_run(store: Store) -> None:
    with store.session() as session:
        run1 = start_run(session, "jira", "full", False, now=T0)
        upsert_tasks(session, [make_task(1), make_task(2)], run1, now=T0)
    later = T0 + timedelta(hours=1)
    with store.session() as session:
        run2 = start_run(session, "jira", "full", False, now=later)
        upsert_tasks(session, [make_task(1)], run2, now=later)  # unchanged, only touched
        upsert_tasks(session, [make_task(2)], None, now=later)  # webhook: run kept
        seen = dict(session.execute(select(TaskRow.key, TaskRow.last_seen_run)).all())
        times = dict(session.execute(select(TaskRow.key, TaskRow.last_seen_at)).all())
    assert seen == {"OPS-1": run2, "OPS-2": run1}
    assert times == {"OPS-1": later, "OPS-2": later}


def test_page_and_cursor_commit_together_or_not_at_all(store: Store) -> None:
    with store.session() as session:
        upsert_tasks(session, [make_task(1)], None)
        set_cursor(session, "jira", "c1")

    def crash_after_upsert() -> None:
        with store.session() as session:
            upsert_tasks(session, [make_task(2), make_task(1, title="changed")], None)
            set_cursor(session, "jira", "c2")
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError, match="crash"):
        crash_after_upsert()
    with store.session() as session:
        assert get_cursor(session, "jira") == "c1"
        assert [t.title for t in load_tasks(session)] == [make_task(1).title]


def test_cursor_records_full_passes(store: Store) -> None:
    with store.session() as session:
        assert get_cursor(session, "jira") is None
        set_cursor(session, "jira", "a", full_pass=True, now=T0)
        set_cursor(session, "jira", "b", now=T0 + timedelta(minutes=5))
        state = get_cursor_state(session, "jira")
    assert state is not None
    assert (state.cursor, state.last_full_pass_at) == ("b", T0)
    assert state.updated_at == T0 + timedelta(minutes=5)


def test_full_pass_marks_unseen_tasks_deleted(store: Store) -> None:
    with store.session() as session:
        first = start_run(session, "jira", "full", False, now=T0)
        upsert_tasks(session, [make_task(n) for n in range(4)], first, now=T0)
        upsert_tasks(session, [make_task(7, connector="trello")], first, now=T0)
    later = T0 + timedelta(days=1)
    with store.session() as session:
        second = start_run(session, "jira", "full", False, now=later)
        upsert_tasks(session, [make_task(0), make_task(2)], second, now=later)
        assert mark_unseen_deleted(session, "jira", second) == 2
        assert mark_unseen_deleted(session, "jira", second) == 0
        live = sorted(t.key for t in load_tasks(session, "jira"))
        every = load_tasks(session, "jira", include_deleted=True)
        others = load_tasks(session, "trello")
    assert live == ["OPS-0", "OPS-2"]
    assert sorted(t.key for t in every if t.deleted) == ["OPS-1", "OPS-3"]
    assert len(others) == 1


def test_a_deleted_task_that_comes_back_is_live_again(store: Store) -> None:
    with store.session() as session:
        upsert_tasks(session, [make_task(1), make_task(2)], None)
        assert mark_deleted(session, "jira", [make_task(1).external_id, "unknown"]) == 1
        assert [t.key for t in load_tasks(session)] == ["OPS-2"]
        assert upsert_tasks(session, [make_task(1)], None) == UpsertResult(0, 1, 0)
        assert sorted(t.key for t in load_tasks(session)) == ["OPS-1", "OPS-2"]


def test_load_tasks_returns_equal_domain_objects(store: Store) -> None:
    tasks = [
        make_task(1),
        make_task(2, estimate=None, parent=None, due=None, updated_at=None, labels=()),
        make_task(3, status_category=StatusCategory.DONE, excluded=True, fields={}, raw={}),
    ]
    with store.session() as session:
        upsert_tasks(session, tasks, None)
    with store.session() as session:
        loaded = load_tasks(session)
        lean = load_tasks(session, include_raw=False)
    assert loaded == tasks
    assert [t.model_dump() for t in loaded] == [t.model_dump() for t in tasks]
    assert isinstance(loaded[0].status_category, StatusCategory)
    assert lean[0].raw == {}
    assert lean[0].labels == tasks[0].labels


def test_batches_larger_than_a_chunk(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("okrbridge.store.repos._sql.ID_CHUNK", 7)
    monkeypatch.setattr("okrbridge.store.repos.tasks._WHOLE_CONNECTOR", 10)
    tasks = [make_task(n) for n in range(40)]
    with store.session() as session:
        assert upsert_tasks(session, tasks[:30], None) == UpsertResult(30, 0, 0)
    edited = [t.model_copy(update={"title": "x"}) if n % 4 == 0 else t for n, t in enumerate(tasks)]
    with store.session() as session:
        assert upsert_tasks(session, edited, None) == UpsertResult(10, 8, 22)
        assert mark_deleted(session, "jira", [t.external_id for t in tasks[:20]]) == 20
        ids = get_task_ids(session, [t.ref for t in tasks[:9]])  # IN lists
        every = get_task_ids(session, [t.ref for t in tasks])  # one scan of the connector
        assert session.scalar(select(func.count()).select_from(TaskRow)) == 40
    assert set(ids) == {t.ref for t in tasks[:9]}
    assert len(set(every.values())) == 40
    assert every[tasks[3].ref] == ids[tasks[3].ref]


def test_get_task_ids_and_mapping_replacement(store: Store) -> None:
    with store.session() as session:
        upsert_tasks(session, [make_task(n) for n in range(3)], None)
    refs = [make_task(n).ref for n in range(3)]
    with store.session() as session:
        ids = get_task_ids(session, [*refs, TaskRef(connector="jira", external_id="nope")])
        assert set(ids) == set(refs)
        first = replace_task_initiatives(
            session,
            {refs[0]: ["growth", "infra"], ("jira", refs[1].external_id): ["growth"]},
        )
        assert (first.added, first.removed) == (3, 0)
        second = replace_task_initiatives(session, {ids[refs[0]]: ["infra"], refs[2]: ["x"]})
        assert (second.added, second.removed) == (1, 1)
        assert load_task_initiatives(session) == {
            ids[refs[0]]: frozenset({"infra"}),
            ids[refs[1]]: frozenset({"growth"}),
            ids[refs[2]]: frozenset({"x"}),
        }
        full = replace_task_initiatives(session, {refs[0]: ["infra"]}, replace_all=True)
        assert (full.added, full.removed) == (0, 2)
        assert session.scalar(select(func.count()).select_from(TaskInitiativeRow)) == 1
        with pytest.raises(ValueError, match="not in the store"):
            replace_task_initiatives(session, {("jira", "nope"): ["x"]})
