"""The inbox worker: events applied once, in order, echoes dropped, failures retried then parked."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from okrbridge.connector.base import EventKind, WebhookEvent
from okrbridge.daemon.worker import InboxWorker, RetryPolicy
from okrbridge.domain import Task
from okrbridge.sandbox import SandboxServer
from okrbridge.store.db import Store
from okrbridge.store.models import InboxRow, TaskRow
from okrbridge.store.repos.inbox import add_delivery
from tests.support.memory import MemoryConnector, MemorySettings, MemoryTool
from tests.web.conftest import delivery


def payload(delivery_id: str, tid: str, *, seq: int, status: str = "todo", **kw: Any) -> bytes:
    import json

    body = json.loads(delivery(delivery_id, tid, actor=kw.get("actor", "person")))
    body["task"].update(status=status, seq=seq, updated=f"2026-11-01T00:00:{seq:02d}+00:00")
    body["event"] = kw.get("event", "task.updated")
    return json.dumps(body).encode()


class Harness:
    def __init__(self, store: Store, connector: Any) -> None:
        self.store = store
        self.changed: list[str] = []
        self.triggers: list[tuple[str, ...]] = []
        self.worker = InboxWorker(
            store,
            {"mem": connector},
            worker_id="w1",
            on_changed=self.on_changed,
            retry=RetryPolicy(max_attempts=2, base_delay=0.0),
        )

    def on_changed(self, instance: str, task_ids: Sequence[str]) -> None:
        self.changed.append(instance)
        self.triggers.append(tuple(task_ids))

    def add(self, delivery_id: str, body: bytes) -> None:
        with self.store.session() as session:
            add_delivery(session, "mem", delivery_id, {}, body)

    def task(self, tid: str) -> TaskRow | None:
        with self.store.session() as session:
            return session.scalar(select(TaskRow).where(TaskRow.external_id == tid))

    def inbox(self) -> dict[str, tuple[str, int, str | None]]:
        with self.store.session() as session:
            rows = session.execute(
                select(
                    InboxRow.delivery_id, InboxRow.status, InboxRow.attempts, InboxRow.last_error
                )
            )
            return {r[0]: (r[1], r[2], r[3]) for r in rows}


@pytest.fixture
def harness(store: Store) -> Iterator[Harness]:
    tool = MemoryTool()
    with SandboxServer(tool.app) as server:  # the worker looks up the bot account there
        settings = MemorySettings(**tool.settings(server.url))
        yield Harness(store, MemoryConnector("mem", settings, tool.env()))


def test_events_for_one_task_apply_in_order_and_once(harness: Harness) -> None:
    harness.add("D1", payload("D1", "T1", seq=1, status="todo"))
    harness.add("D2", payload("D2", "T1", seq=2, status="in_progress"))
    harness.add("D3", payload("D3", "T1", seq=3, status="done"))
    assert harness.worker.process_once() == 3
    task = harness.task("T1")
    assert task is not None
    assert task.status_category == "done"
    assert harness.inbox() == {d: ("done", 1, None) for d in ("D1", "D2", "D3")}
    assert harness.worker.process_once() == 0  # nothing is processed twice
    assert harness.changed == ["mem", "mem", "mem"]
    assert harness.triggers == [("T1",), ("T1",), ("T1",)]  # what the push gets as trigger


def test_an_older_event_never_overwrites_a_newer_one(harness: Harness) -> None:
    harness.add("D9", payload("D9", "T1", seq=9, status="done"))
    harness.worker.process_once()
    harness.add("D4", payload("D4", "T1", seq=4, status="todo"))  # late, out-of-order delivery
    harness.worker.process_once()
    task = harness.task("T1")
    assert task is not None
    assert task.status_category == "done"
    assert harness.inbox()["D4"][0] == "done"


def test_own_echo_is_dropped_without_a_push(harness: Harness) -> None:
    harness.add("E1", payload("E1", "T5", seq=1, actor="okrbridge-bot", event="task.labeled"))
    harness.worker.process_once()
    assert harness.task("T5") is None
    assert harness.changed == []
    assert harness.inbox()["E1"][0] == "done"


def test_delete_marks_the_task_deleted(harness: Harness) -> None:
    harness.add("D1", payload("D1", "T2", seq=1))
    harness.add("D2", payload("D2", "T2", seq=2, event="task.deleted"))
    harness.worker.process_once()
    task = harness.task("T2")
    assert task is not None
    assert task.deleted


def test_failures_are_retried_then_parked(harness: Harness, monkeypatch: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("store hiccup")

    monkeypatch.setattr("okrbridge.daemon.worker.upsert_tasks", broken)
    harness.add("D1", payload("D1", "T3", seq=1))
    harness.worker.process_once()
    assert harness.inbox()["D1"] == ("pending", 1, "RuntimeError: store hiccup")
    harness.worker.process_once()
    assert harness.inbox()["D1"] == ("parked", 2, "RuntimeError: store hiccup")
    assert harness.task("T3") is None
    assert harness.worker.process_once() == 0


def test_unparseable_stored_body_is_parked(harness: Harness) -> None:
    harness.add("X1", b"{broken")
    harness.worker.process_once()
    status, _, error = harness.inbox()["X1"]
    assert status == "parked"
    assert error is not None
    assert "unparseable" in error


def test_a_lost_claim_rolls_the_apply_back(harness: Harness, monkeypatch: Any) -> None:
    monkeypatch.setattr("okrbridge.daemon.worker.finish_delivery", lambda *a, **k: False)
    harness.add("D1", payload("D1", "T4", seq=1))
    harness.worker.process_once()
    assert harness.task("T4") is None  # another worker owns it now: nothing applied here
    assert harness.changed == []


class ScopedConnector(MemoryConnector):
    """Deliveries only name a task (REFRESH); `fetch` omits tasks outside the scope (as the
    contract says) and, to be awkward, also returns one nobody asked for."""

    in_scope: frozenset[str] = frozenset({"IN"})

    def parse_webhook(self, request: Any) -> list[WebhookEvent]:
        import json

        payload = json.loads(request.body)
        return [WebhookEvent(payload["delivery"], EventKind.REFRESH, payload["task"]["id"])]

    def fetch(self, external_ids: Sequence[str]) -> list[Task]:
        import json

        wanted = [tid for tid in external_ids if tid in self.in_scope] + ["EXTRA"]
        return [self._task(json.loads(delivery("x", tid))["task"]) for tid in wanted]


def test_a_refreshed_task_outside_the_scope_is_not_stored(store: Store) -> None:
    tool = MemoryTool()
    with SandboxServer(tool.app) as server:
        settings = MemorySettings(**tool.settings(server.url))
        harness = Harness(store, ScopedConnector("mem", settings, tool.env()))
        harness.add("S1", payload("S1", "OUT", seq=1))  # e.g. a Jira issue of another project
        harness.add("S2", payload("S2", "IN", seq=2))
        harness.worker.process_once()
        assert harness.task("OUT") is None
        assert harness.task("EXTRA") is None  # fetched, but not asked for
        assert harness.task("IN") is not None
        assert harness.triggers == [("IN",)]  # no push for what was not stored
        ScopedConnector.in_scope = frozenset()  # IN leaves the scope (moved to another project)
        try:
            harness.add("S3", payload("S3", "IN", seq=3))
            harness.worker.process_once()
        finally:
            ScopedConnector.in_scope = frozenset({"IN"})
        task = harness.task("IN")
        assert task is not None
        assert task.deleted
        assert {d: s for d, (s, _, _) in harness.inbox().items()} == {
            "S1": "done", "S2": "done", "S3": "done",
        }  # fmt: skip
