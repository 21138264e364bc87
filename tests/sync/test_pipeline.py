"""The whole pipeline against the memory tool: what ends up in the tool and in the store."""

from __future__ import annotations

from sqlalchemy import select

from okrbridge.domain import StatusCategory
from okrbridge.sandbox import SeedTask
from okrbridge.store.models import AuditEntry, PushStateRow
from tests.sync.conftest import Bench


def bridge_labels(bench: Bench, tid: str) -> list[str]:
    return [label for label in bench.tool.labels_of(tid) if label.startswith("okr:")]


def seed(bench: Bench, n: int = 4, done: int = 1) -> list[str]:
    ids = []
    for i in range(n):
        status = StatusCategory.DONE if i < done else StatusCategory.TODO
        ids.append(bench.tool.add_task(SeedTask(f"task {i}", "MKT", status, ("reviews",))))
    ids.append(bench.tool.add_task(SeedTask("unrelated", "MKT", labels=("other",))))
    return ids


def test_first_sync_marks_open_mapped_tasks_once(bench: Bench) -> None:
    ids = seed(bench)
    report = bench.sync()
    assert report.ok, [c.error for c in report.connectors]
    status_labels = {tid: bridge_labels(bench, tid) for tid in ids}
    # the done task and the unmapped task carry nothing; the open mapped ones exactly one label
    assert status_labels[ids[0]] == []
    assert status_labels[ids[-1]] == []
    for tid in ids[1:-1]:
        assert len(status_labels[tid]) == 1
        assert "reviews" in bench.tool.labels_of(tid)
        comments = bench.tool.comments_of(tid)
        assert len(comments) == 1
        assert "Multi-channel campaign for App Store reviews" in comments[0].body
    assert bench.tool.comments_of(ids[0]) == []


def test_second_sync_with_nothing_changed_writes_nothing(bench: Bench) -> None:
    seed(bench)
    bench.sync()
    bench.server.log.clear()
    report = bench.sync()
    assert report.ok
    assert bench.server.log.count(writes_only=True) == 0
    assert report.connectors[0].writes_made == 0


def test_status_change_edits_in_place(bench: Bench) -> None:
    ids = seed(bench, n=4, done=0)
    bench.sync()
    for tid in ids[:3]:
        bench.tool.set_status(tid, StatusCategory.DONE)
    bench.tool.set_status(ids[3], StatusCategory.IN_PROGRESS)
    bench.sync()
    # done tasks lost their label and got one final comment (edited, not added)
    for tid in ids[:3]:
        assert bridge_labels(bench, tid) == []
        comments = bench.tool.comments_of(tid)
        assert len(comments) == 1
        assert "final" in comments[0].body
    assert len(bridge_labels(bench, ids[3])) == 1
    assert len(bench.tool.comments_of(ids[3])) == 1
    assert "3 of 4" in bench.tool.comments_of(ids[3])[0].body


def test_dry_run_writes_nothing_to_the_tool(bench: Bench) -> None:
    seed(bench)
    report = bench.sync(dry_run=True)
    assert bench.server.log.count(writes_only=True) == 0
    assert report.connectors[0].writes_planned > 0
    with bench.store.session() as session:
        # The pull records what it saw in the tool (no bridge comment yet), not a write.
        rows = session.scalars(select(PushStateRow)).all()
    assert rows
    assert all(r.label is None and r.comment_id is None and r.comment_hash is None for r in rows)
    assert all(r.comment_absent for r in rows)


def test_writes_are_audited_with_reasons(bench: Bench) -> None:
    seed(bench)
    bench.sync()
    with bench.store.session() as session:
        made = session.execute(
            select(AuditEntry.action, AuditEntry.reason).where(AuditEntry.phase == "made")
        ).all()
    assert {action for action, _ in made} == {"add_label", "create_comment"}
    assert all("first rollout" in reason for _, reason in made)


def test_person_labels_are_never_touched(bench: Bench) -> None:
    ids = seed(bench, n=2, done=0)
    bench.tool.set_labels(ids[0], ("reviews", "okr:review-campaign", "p1"))
    bench.sync()
    bench.tool.set_status(ids[0], StatusCategory.DONE)
    bench.sync()
    assert bench.tool.labels_of(ids[0]) == ["reviews", "okr:review-campaign", "p1"]


def test_drift_enforce_readds_and_respect_leaves(bench: Bench) -> None:
    ids = seed(bench, n=1, done=0)
    bench.sync()
    (label,) = bridge_labels(bench, ids[0])
    bench.tool.set_labels(ids[0], ("reviews",))
    bench.sync()
    assert label in bench.tool.labels_of(ids[0])
    bench.reconfigure(drift="respect")
    bench.tool.set_labels(ids[0], ("reviews",))
    bench.sync()
    assert label not in bench.tool.labels_of(ids[0])


def test_comments_are_not_edited_as_time_passes(bench: Bench) -> None:
    """Pace wording and forecasts drift daily; only status/value/progress changes edit."""
    from datetime import timedelta

    from tests.support.okr import NOW

    seed(bench)
    for day in range(5):
        bench.sync(now=NOW + timedelta(days=day, hours=day))
    before = bench.tool.write_count()
    bench.sync(now=NOW + timedelta(days=6))
    assert bench.tool.write_count() == before


def test_a_task_that_stops_being_mapped_loses_its_marks(bench: Bench) -> None:
    ids = seed(bench, n=2, done=0)
    bench.sync()
    bench.tool.set_labels(ids[0], ("p1",))  # no longer labelled `reviews`
    bench.sync()
    assert bench.tool.labels_of(ids[0]) == ["p1"]
    (comment,) = bench.tool.comments_of(ids[0])
    assert "no longer serves" in comment.body
    bench.reconfigure(unmapped="delete-comment")
    bench.tool.set_labels(ids[1], ("p2",))
    bench.sync()
    assert bench.tool.comments_of(ids[1]) == []
    assert bench.tool.labels_of(ids[1]) == ["p2"]
