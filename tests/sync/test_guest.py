"""The guest promise on the memory tool: comments change with their meaning, the changed task
goes first, refused writes fail loudly and once, one sync per instance at a time."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from okrbridge.config.schema import PushSettings
from okrbridge.domain import StatusCategory, TaskRef
from okrbridge.sandbox import SeedTask
from okrbridge.store.models import AuditEntry
from okrbridge.store.repos.leases import acquire_lease
from okrbridge.sync.lease import describe_holder, instance_lease, lease_name
from okrbridge.sync.task_changes import Reason
from tests.support.memory import MemorySettings
from tests.support.okr import NOW, okr_config
from tests.sync.conftest import Bench


def seed(bench: Bench, n: int) -> list[str]:
    return [
        bench.tool.add_task(SeedTask(f"task {i}", "MKT", StatusCategory.TODO, ("reviews",)))
        for i in range(n)
    ]


def manual(bench: Bench, **push: object) -> None:
    """A manual key result: its status holds however the tasks move."""
    settings = MemorySettings(**bench.tool.settings(bench.server.url))
    bench.config = okr_config("mem", settings, manual_kr=True, **push)


def bodies(bench: Bench, ids: list[str]) -> dict[str, list[str]]:
    return {tid: [c.body for c in bench.tool.comments_of(tid)] for tid in ids}


def test_a_task_move_edits_no_sibling_until_the_refresh_is_due(bench: Bench) -> None:
    manual(bench)
    ids = seed(bench, 20)
    bench.sync()
    before, writes = bodies(bench, ids), bench.tool.write_count()
    bench.tool.set_status(ids[0], StatusCategory.DONE)
    assert bench.sync().ok
    assert bench.tool.write_count() - writes <= 2
    assert bodies(bench, ids[1:]) == {t: before[t] for t in ids[1:]}
    # A week and a quarter later every sibling's figures are refreshed, once.
    report = bench.sync(now=NOW + timedelta(days=9))
    assert report.ok
    assert all("1 of 20" in bench.tool.comments_of(t)[0].body for t in ids[1:])
    with bench.store.session() as session:
        reasons = session.scalars(
            select(AuditEntry.reason).where(
                AuditEntry.phase == "made", AuditEntry.sync_run_id == report.connectors[0].run_id
            )
        ).all()
    assert reasons == [Reason.FIGURES_REFRESH.value] * 19
    writes = bench.tool.write_count()
    bench.sync(now=NOW + timedelta(days=10))
    assert bench.tool.write_count() == writes


def test_never_refreshes_figures(bench: Bench) -> None:
    manual(bench, comment_refresh="never")
    ids = seed(bench, 3)
    bench.sync()
    bench.tool.set_status(ids[0], StatusCategory.DONE)
    bench.sync()
    writes = bench.tool.write_count()
    bench.sync(now=NOW + timedelta(days=60))
    assert bench.tool.write_count() == writes


def test_comment_refresh_setting() -> None:
    assert PushSettings().comment_refresh == timedelta(days=7)
    assert PushSettings(comment_refresh="never").comment_refresh is None
    assert PushSettings(comment_refresh="12h").comment_refresh == timedelta(hours=12)
    with pytest.raises(ValidationError, match="at least"):
        PushSettings(comment_refresh="10s")
    with pytest.raises(ValidationError, match="duration"):
        PushSettings(comment_refresh="weekly")


def test_the_triggering_task_is_written_first(bench: Bench) -> None:
    ids = seed(bench, 12)
    report = bench.sync(first=[TaskRef(connector="mem", external_id=ids[-1])])
    assert report.ok
    with bench.store.session() as session:
        first = session.scalars(
            select(AuditEntry.task_key)
            .where(AuditEntry.phase == "made")
            .order_by(AuditEntry.id)
            .limit(1)
        ).one()
    assert first == ids[-1]


def test_a_refused_write_fails_the_run_once_and_is_parked(bench: Bench) -> None:
    from okrbridge.cli.status import parked_json

    ids = seed(bench, 3)
    bench.tool.refuse_writes_to(ids[0], "issue is locked")
    report = bench.sync()
    assert not report.ok
    assert report.connectors[0].writes_failed == 1
    assert "issue is locked" in (report.connectors[0].error or "")
    with bench.store.session() as session:
        parked = parked_json(session)
    assert [p["task"] for p in parked["mem"]] == [ids[0]]
    assert "issue is locked" in parked["mem"][0]["reason"]
    writes = bench.tool.write_count()
    again = bench.sync()
    assert again.ok
    assert again.connectors[0].writes_planned == 0
    assert bench.tool.write_count() == writes
    # Its desired state changes (done: nothing to write): the parked write is dropped.
    bench.tool.set_status(ids[0], StatusCategory.DONE)
    bench.sync()
    with bench.store.session() as session:
        assert parked_json(session) == {}


def test_a_preflight_problem_fails_the_connector_before_any_write(bench: Bench) -> None:
    seed(bench, 2)
    bench.tool.refused_labels = {"okr:off-track"}
    report = bench.sync()
    assert not report.ok
    assert "refuses the status label okr:off-track" in (report.connectors[0].error or "")
    assert bench.tool.write_count() == 0


def test_a_busy_instance_names_its_holder(bench: Bench) -> None:
    seed(bench, 2)
    with instance_lease(bench.store, "mem"):
        report = bench.sync(lease_wait=0.3)
    error = report.connectors[0].error or ""
    assert f"host {socket.gethostname()}" in error
    assert "since 20" in error
    assert bench.tool.write_count() == 0
    assert bench.sync().ok  # released


def test_a_lease_left_by_a_killed_process_of_this_host_is_taken_over(bench: Bench) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    holder = f"{socket.gethostname()}:{gone.pid}:20261204T170000Z:dead"
    with bench.store.session() as session:
        assert acquire_lease(session, lease_name("mem"), holder, 600)
    seed(bench, 1)
    assert bench.sync(lease_wait=0.3).ok
    assert describe_holder(holder).endswith("since 2026-12-04T17:00:00+00:00")


def test_respect_leaves_a_deleted_comment_alone(bench: Bench) -> None:
    manual(bench, drift="respect")
    ids = seed(bench, 2)
    bench.sync()
    [ours] = bench.tool.comments_of(ids[0])
    bench.tool.delete_comment_as_person(ids[0], ours.id)
    writes = bench.tool.write_count()
    bench.sync(full=True)
    bench.sync(now=NOW + timedelta(days=30))
    assert bench.tool.comments_of(ids[0]) == []
    assert len(bench.tool.comments_of(ids[1])) == 1
    assert bench.tool.write_count() - writes <= 1  # at most ids[1]'s figure refresh


def test_a_key_result_status_change_costs_at_most_two_writes_per_task(bench: Bench) -> None:
    from okrbridge.domain import CheckIn, KRStatus
    from okrbridge.store.repos.history import add_checkin

    manual(bench)
    ids = seed(bench, 6)
    bench.sync()
    with bench.store.session() as session:
        add_checkin(session, CheckIn(key_result_id="kr-reviews", value=85, at=NOW))
    writes = bench.tool.write_count()
    report = bench.sync()
    assert report.evaluation is not None
    assert report.evaluation.key_results["kr-reviews"].status is KRStatus.ACHIEVED
    assert bench.tool.write_count() - writes <= 2 * len(ids)
    assert all(bench.tool.labels_of(t)[-1] == "okr:achieved" for t in ids)
