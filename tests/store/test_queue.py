"""Push state, the durable write queue, the audit log, sync runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from store_builders import T0, make_task

from okrbridge.store.db import Store
from okrbridge.store.models import AuditEntry, PushQueueRow
from okrbridge.store.repos import (
    AuditRecord,
    QueueItem,
    audit,
    claim_next,
    complete,
    enqueue,
    fail,
    finish_run,
    get_task_ids,
    last_runs,
    pending_count,
    push_states,
    requeue_in_flight,
    save_push_state,
    start_run,
    upsert_tasks,
)
from okrbridge.store.repos._sql import COPY_FROM


def _task_ids(store: Store, count: int) -> list[int]:
    tasks = [make_task(n) for n in range(count)]
    with store.session() as session:
        upsert_tasks(session, tasks, None)
        ids = get_task_ids(session, [t.ref for t in tasks])
    return [ids[t.ref] for t in tasks]


def test_push_state_is_replaced_per_task(store: Store) -> None:
    first, second = _task_ids(store, 2)
    with store.session() as session:
        save_push_state(
            session, first, "jira", label="okr:on-track", comment_id=None, comment_hash=None
        )
        save_push_state(
            session, first, "jira", label="okr:off-track", comment_id="c9", comment_hash="h"
        )
        save_push_state(session, second, "trello", label=None, comment_id="c1", comment_hash="h1")
    with store.session() as session:
        jira = push_states(session, "jira")
    assert list(jira) == [first]
    assert (jira[first].label, jira[first].comment_id, jira[first].comment_hash) == (
        "okr:off-track",
        "c9",
        "h",
    )


def test_queue_claims_in_order_and_never_twice(store: Store) -> None:
    ids = _task_ids(store, 4)
    with store.session() as session:
        enqueue(session, [QueueItem("jira", task_id, {"add_label": "okr:x"}) for task_id in ids])
        assert pending_count(session, "jira") == 4
    with store.session() as session:
        first = claim_next(session, "jira", 3, now=T0)
        second = claim_next(session, "jira", 3, now=T0)
        assert claim_next(session, "trello", 3, now=T0) == []
    assert [item.task_id for item in first] == ids[:3]
    assert [item.task_id for item in second] == ids[3:]
    assert {item.attempts for item in first} == {1}
    assert first[0].change == {"add_label": "okr:x"}
    with store.session() as session:
        complete(session, first[0].id)
        fail(session, first[1].id, "HTTP 500", retry=True, retry_at=T0 + timedelta(minutes=1))
        fail(session, first[2].id, "HTTP 404", retry=False)
        assert pending_count(session, "jira") == 1
        assert claim_next(session, "jira", 5, now=T0) == []  # retry not due yet
        again = claim_next(session, "jira", 5, now=T0 + timedelta(minutes=2))
        statuses = dict(session.execute(select(PushQueueRow.id, PushQueueRow.status)).all())
    assert [(item.id, item.attempts, item.last_error) for item in again] == [
        (first[1].id, 2, "HTTP 500")
    ]
    assert statuses == {
        first[0].id: "done",
        first[1].id: "in_flight",
        first[2].id: "failed",
        second[0].id: "in_flight",
    }


def test_in_flight_writes_go_back_to_pending_after_a_crash(store: Store) -> None:
    (task_id,) = _task_ids(store, 1)
    with store.session() as session:
        enqueue(session, [QueueItem("jira", task_id, {"comment": "create"})])
        claim_next(session, "jira", 1)
    with store.session() as session:
        assert requeue_in_flight(session, "jira") == 1
        (item,) = claim_next(session, "jira", 1)
    assert item.attempts == 2  # the caller knows an earlier attempt may have written


def test_enqueue_supersedes_pending_writes_of_the_same_task(store: Store) -> None:
    first, second = _task_ids(store, 2)
    with store.session() as session:
        enqueue(session, [QueueItem("jira", first, {"v": 1}), QueueItem("jira", second, {"v": 1})])
        (claimed,) = claim_next(session, "jira", 1)
        enqueue(session, [QueueItem("jira", first, {"v": 2}), QueueItem("jira", second, {"v": 2})])
        rows = session.execute(
            select(PushQueueRow.task_id, PushQueueRow.status, PushQueueRow.change)
        ).all()
    assert claimed.task_id == first
    assert sorted((r.task_id, r.status, r.change["v"]) for r in rows) == sorted(
        [(first, "in_flight", 1), (first, "pending", 2), (second, "pending", 2)]
    )


def test_audit_entries_are_stored_in_bulk(store: Store) -> None:
    entries = [
        AuditRecord(
            "jira", "made", "add_label", task_id=1, task_key="OPS-1", detail="okr:on-track"
        ),
        AuditRecord("jira", "planned", "create_comment", reason="new mapping", at=T0),
    ]
    with store.session() as session:
        audit(session, entries, now=T0 + timedelta(hours=1))
    with store.session() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(r.phase, r.action, r.task_key, r.reason) for r in rows] == [
        ("made", "add_label", "OPS-1", ""),
        ("planned", "create_comment", "", "new mapping"),
    ]
    assert [r.at for r in rows] == [T0 + timedelta(hours=1), T0]


def test_runs_record_counters_and_the_latest_per_connector(store: Store) -> None:
    with store.session() as session:
        old = start_run(session, "jira", "full", False, now=T0)
        finish_run(session, old, "ok", pulled=10, now=T0)
        new = start_run(session, "jira", "incremental", True, now=T0 + timedelta(hours=1))
        other = start_run(session, "trello", "incremental", False, now=T0)
        finish_run(session, other, "failed", error="401 from Trello", stats={"pages": 2})
        finish_run(session, new, "ok", pulled=3, changed=2, writes_made=1)
    with store.session() as session:
        runs = last_runs(session)
        full = last_runs(session, kind="full")
    assert (runs["jira"].id, runs["jira"].pulled, runs["jira"].changed) == (new, 3, 2)
    assert runs["jira"].dry_run is True
    assert (runs["trello"].status, runs["trello"].error) == ("failed", "401 from Trello")
    assert runs["trello"].stats == {"pages": 2}
    assert full["jira"].id == old


def test_a_large_batch_reads_back_as_written(store: Store) -> None:
    """Batches from `COPY_FROM` rows on go to PostgreSQL by COPY: the same rows come back."""
    ids = _task_ids(store, 3)
    count = COPY_FROM + 7
    change = {"add_label": "okr:on-track", "comment": {"body": 'a \\n\t tab, "quote", é ✓'}}
    items = [
        QueueItem("mem", ids[n % 3], {**change, "n": n, "none": None}, f"r{n}", n % 3)
        for n in range(count)
    ]
    records = [
        AuditRecord("mem", "planned", "add_label", ids[0], "T-1", f"d{n}\\N", "why", None)
        for n in range(count)
    ]
    with store.session() as session:
        assert enqueue(session, items, supersede=False, now=T0) == count
        audit(session, records, now=T0)
    with store.session() as session:
        rows = session.scalars(select(PushQueueRow).order_by(PushQueueRow.id)).all()
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(r.task_id, r.change, r.reason, r.priority, r.status) for r in rows] == [
        (i.task_id, i.change, i.reason, i.priority, "pending") for i in items
    ]
    assert {r.created_at for r in rows} == {T0}
    assert [(e.detail, e.at, e.task_key, e.sync_run_id) for e in entries] == [
        (r.detail, T0, "T-1", None) for r in records
    ]
