"""The push state follows what the tool shows of the bridge's marks."""

from __future__ import annotations

from datetime import UTC, datetime

from okrbridge.domain import FoundMarks, Task
from okrbridge.marks import StatusLabels
from okrbridge.store.db import Store
from okrbridge.store.models import PushStateRow
from okrbridge.store.repos.tasks import get_task_ids, upsert_tasks
from okrbridge.store.repos.writes import save_push_state
from okrbridge.sync.reconcile import reconcile_marks

AT = datetime(2026, 11, 15, tzinfo=UTC)
LABELS = StatusLabels("okr:")


def task(labels: tuple[str, ...] = (), marks: FoundMarks | None = None, tid: str = "T1") -> Task:
    return Task(connector="mem", external_id=tid, key=tid, labels=labels, marks=marks)


def reconcile(store: Store, *tasks: Task) -> dict[str, PushStateRow | None]:
    with store.session() as session:
        upsert_tasks(session, list(tasks), run_id=None)
        reconcile_marks(session, "mem", tasks, LABELS, now=AT)
    with store.session() as session:
        ids = get_task_ids(session, [t.ref for t in tasks])
        found = {ref.external_id: session.get(PushStateRow, tid) for ref, tid in ids.items()}
        for row in found.values():
            if row is not None:
                session.expunge(row)
        return found


def test_a_persons_status_label_at_first_contact_is_remembered(store: Store) -> None:
    row = reconcile(store, task(("okr:on-track", "x"), FoundMarks()))["T1"]
    assert row is not None
    assert row.replaced_label == "okr:on-track"
    assert row.label is None
    assert row.comment_absent


def test_a_found_comment_is_adopted_with_its_stamp_and_its_label_counts(store: Store) -> None:
    digest = "0" + "a" * 63
    marks = FoundMarks(comment_id="C9", comment_digest=digest)
    row = reconcile(store, task(("okr:off-track",), marks))["T1"]
    assert row is not None
    assert (row.comment_id, row.comment_hash, row.label) == ("C9", digest, "okr:off-track")
    assert row.replaced_label is None
    assert row.figures_at == AT


def test_a_deleted_comment_keeps_its_meaning_for_drift(store: Store) -> None:
    reconcile(store, task((), FoundMarks(comment_id="C9", comment_digest="0" + "b" * 63)))
    row = reconcile(store, task((), FoundMarks()))["T1"]
    assert row is not None
    assert row.comment_id is None
    assert row.comment_hash == "0" + "b" * 63
    assert row.comment_absent


def test_tasks_read_without_marks_change_nothing(store: Store) -> None:
    first = reconcile(store, task(("okr:on-track",)))
    assert first["T1"] is None
    with store.session() as session:
        [tid] = get_task_ids(session, [task().ref]).values()
        save_push_state(
            session, tid, "mem", label="okr:on-track", comment_id="C1", comment_hash="h"
        )
    row = reconcile(store, task(("okr:on-track",)))["T1"]
    assert row is not None
    assert row.comment_id == "C1"


def test_a_draft_field_value_of_a_person_is_remembered_and_ours_counts(store: Store) -> None:
    rows = reconcile(
        store,
        task(marks=FoundMarks(field_value="Blocked"), tid="D1"),
        task(marks=FoundMarks(field_value="on-track"), tid="D2"),
    )
    assert rows["D1"] is not None
    assert (rows["D1"].replaced_field, rows["D1"].field_value) == ("Blocked", None)
    assert rows["D2"] is not None
    assert (rows["D2"].replaced_field, rows["D2"].field_value) == (None, "on-track")


def test_a_known_comment_whose_stamp_is_unreadable_keeps_our_digest(store: Store) -> None:
    digest = "0" + "c" * 63
    reconcile(store, task((), FoundMarks(comment_id="C9", comment_digest=digest)))
    row = reconcile(store, task((), FoundMarks(comment_id="C9")))["T1"]
    assert row is not None
    assert row.comment_hash == digest
    adopted = reconcile(store, task((), FoundMarks(comment_id="C10")))["T1"]
    assert adopted is not None
    assert (adopted.comment_id, adopted.comment_hash) == ("C10", None)


def test_a_webhook_task_updates_the_push_state_like_a_pull(store: Store) -> None:
    from okrbridge.connector.base import EventKind, WebhookEvent
    from okrbridge.daemon.worker import apply_events

    reconcile(store, task((), FoundMarks(comment_id="C9", comment_digest="0" + "c" * 63)))
    # A person deleted the bridge's comment; the delivery's re-read shows no comment any more.
    gone = task((), FoundMarks()).model_copy(update={"updated_at": AT})
    event = WebhookEvent("d1", EventKind.UPSERT, "T1", gone)
    with store.session() as session:
        changed = apply_events(session, "mem", [event], {}, labels=LABELS)
    assert changed == ["T1"]  # the push that follows re-plans the task
    with store.session() as session:
        [task_id] = get_task_ids(session, [gone.ref]).values()
        row = session.get(PushStateRow, task_id)
        assert row is not None
        assert (row.comment_id, row.comment_absent) == (None, True)
