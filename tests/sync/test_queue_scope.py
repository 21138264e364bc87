"""Planning touches only what changed: a long rollout's queue is not planned again each sync,
and plans are made a page at a time with the same result as all at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from okrbridge.cli.footprint import FootprintFile
from okrbridge.domain import StatusCategory
from okrbridge.sandbox import SeedTask
from okrbridge.store.models import AuditEntry, PushQueueRow
from okrbridge.sync import compute as compute_module
from okrbridge.sync import pull as pull_module
from okrbridge.sync import runner
from okrbridge.sync import write_queue as write_queue_module
from okrbridge.sync.drain import DrainResult
from okrbridge.sync.runner import change_actions_of
from tests.sync.conftest import Bench


def seed(bench: Bench, n: int) -> list[str]:
    return [
        bench.tool.add_task(
            SeedTask(f"task {i}", "MKT", StatusCategory.TODO, ("reviews",) if i % 4 else ("x",))
        )
        for i in range(n)
    ]


def queue(bench: Bench) -> dict[int, tuple[int, str]]:
    """Open queue rows: task id -> (row id, status)."""
    with bench.store.session() as session:
        rows = session.execute(
            select(PushQueueRow.task_id, PushQueueRow.id, PushQueueRow.status).where(
                PushQueueRow.status.in_(("pending", "in_flight"))
            )
        )
        return {task_id: (row_id, status) for task_id, row_id, status in rows}


def planned_audit(bench: Bench) -> int:
    with bench.store.session() as session:
        return len(
            session.scalars(select(AuditEntry.id).where(AuditEntry.phase == "planned")).all()
        )


def no_drain(*args: Any, result: DrainResult, **kwargs: Any) -> DrainResult:
    return result  # the rollout is still under way: nothing leaves the queue


def test_queued_rollout_is_not_planned_again(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = seed(bench, 24)
    monkeypatch.setattr(runner, "drain", no_drain)
    first = bench.sync()
    assert first.ok, [c.error for c in first.connectors]
    rollout = queue(bench)
    assert len(rollout) == 18  # every mapped open task: one row each
    audited = planned_audit(bench)

    steady = bench.sync()
    assert steady.connectors[0].counts.tasks == 0
    assert queue(bench) == rollout  # the same rows, untouched
    assert planned_audit(bench) == audited

    # Done before the bridge ever wrote to it: it now wants nothing, so its queued write
    # (a label and a comment) goes, and only it.
    bench.tool.set_status(ids[1], StatusCategory.DONE)
    one = bench.sync()
    assert one.connectors[0].changed == 1
    assert one.connectors[0].counts.tasks == 0
    after = queue(bench)
    assert len(after) == len(rollout) - 1
    assert all(rollout[task_id] == row for task_id, row in after.items())

    monkeypatch.undo()
    done = bench.sync()
    assert done.ok
    assert queue(bench) == {}
    for n, tid in enumerate(ids):
        wanted = 1 if n % 4 and n != 1 else 0
        assert len(bench.tool.comments_of(tid)) == wanted, tid
        bridge = [label for label in bench.tool.labels_of(tid) if label.startswith("okr:")]
        assert len(bridge) == wanted, (tid, bridge)


def test_pages_plan_what_one_pass_plans(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(bench, 23)

    def plans(page: int) -> list[tuple[str, list[tuple[str, str]]]]:
        monkeypatch.setattr(compute_module, "PLAN_PAGE", page)
        report = bench.sync(dry_run=True, keep_plans=None)
        connector = report.connectors[0]
        assert connector.counts.tasks == len(connector.planned) > 0
        return sorted((p.planned.change.task.key, change_actions_of(p)) for p in connector.planned)

    assert plans(4) == plans(10_000)


def test_report_keeps_a_sample_and_counts_everything(bench: Bench) -> None:
    seed(bench, 20)
    report = bench.sync(dry_run=True, keep_plans=3)
    connector = report.connectors[0]
    assert len(connector.planned) == 3
    assert connector.counts.tasks == 15
    assert connector.counts.comments == 15
    assert connector.writes_planned == connector.counts.writes == 30  # a label and a comment each


def test_a_listing_gets_every_plan_while_the_report_keeps_a_sample(
    bench: Bench, tmp_path: Path
) -> None:
    seed(bench, 20)  # 15 mapped open tasks
    out = tmp_path / "planned.txt"
    with FootprintFile() as listing:
        report = bench.sync(dry_run=True, keep_plans=2, plan_sink=listing.add)
        listing.write(out, report)
    assert len(report.connectors[0].planned) == 2
    text = out.read_text(encoding="utf-8")
    assert "mem (memory): 15 task(s) would get the bridge's marks" in text
    assert text.count("+ okr:") == 15
    titled = {f"task {n}" for n in range(20) if n % 4}
    assert {title for title in titled if f"{title}\n" in text or f"{title} " in text} == titled
    assert "as the tool shows it" in text  # the comment, in full
    assert "OKR status" in text


def test_a_bulk_load_refreshes_postgresqls_planner_statistics(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    if bench.store.dialect != "postgresql":
        pytest.skip("PostgreSQL only: SQLite plans these lookups well without statistics")
    seed(bench, 24)
    monkeypatch.setattr(pull_module, "STATISTICS_FROM", 5)
    monkeypatch.setattr(write_queue_module, "STATISTICS_FROM", 5)
    assert bench.sync().ok

    with bench.store.session() as session:
        analyzed = dict(
            session.execute(
                text(
                    "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables "
                    "WHERE schemaname = current_schema()"
                )
            ).all()
        )
    assert analyzed["tasks"]
    assert analyzed["task_changes"]
    assert analyzed["push_queue"]
    assert not analyzed["audit_log"]  # only what the sync's lookups read
