"""A pure edge: with the tool unreachable, deliveries are acknowledged (the request path never
calls it), wait in the inbox without being parked, and are applied once the tool is back."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import select

from okrbridge.daemon.worker import InboxWorker, RetryPolicy
from okrbridge.sandbox import SandboxServer
from okrbridge.store.db import Store
from okrbridge.store.models import InboxRow, TaskRow
from tests.daemon.process import free_port
from tests.support.memory import MemoryConnector, MemorySettings, MemoryTool
from tests.web.conftest import Web, sign
from tests.web.test_receiver import delivery


def statuses(store: Store) -> dict[str, tuple[str, int]]:
    with store.session() as session:
        rows = session.execute(select(InboxRow.delivery_id, InboxRow.status, InboxRow.attempts))
        return {d: (s, a) for d, s, a in rows}


def stored_titles(store: Store) -> dict[str, str]:
    with store.session() as session:
        return dict(session.execute(select(TaskRow.external_id, TaskRow.status_name)).all())


def test_tool_down_acknowledged_waits_unparked_then_applied_once_back(web: Web) -> None:
    # The receiver's connector points at a closed port (the fixture's): the tool is down.
    for n in range(1, 6):
        body = delivery(f"D{n}", f"T{n}")
        response = web.client.post("/webhooks/mem", content=body, headers=sign(body))
        assert (response.status_code, response.json()["status"]) == (202, "accepted")

    tool = MemoryTool()
    port = free_port()  # nothing listens there yet
    settings = MemorySettings(**tool.settings(f"http://127.0.0.1:{port}"))
    changed: list[tuple[str, ...]] = []

    def on_changed(instance: str, ids: Sequence[str]) -> None:
        changed.append(tuple(ids))

    worker = InboxWorker(
        web.store,
        {"mem": MemoryConnector("mem", settings, tool.env())},
        worker_id="w1",
        on_changed=on_changed,
        # Other failures park at the 2nd attempt; an outage must not.
        retry=RetryPolicy(max_attempts=2, base_delay=0.5),
    )
    rounds = 3
    for outage in range(1, rounds + 1):
        assert worker.process_once() == 1  # one delivery tried the tool; the rest waited
        assert worker.process_once() == 0  # the instance is paused: nothing is claimed
        time.sleep(worker.retry.delay(outage) + 0.01)
    inbox = statuses(web.store)
    assert {status for status, _ in inbox.values()} == {"pending"}
    assert sum(attempts for _, attempts in inbox.values()) == rounds
    assert stored_titles(web.store) == {}
    assert changed == []

    with SandboxServer(tool.app, port=port):  # the tool is back
        while worker.process_once():
            pass
    assert {d: status for d, (status, _) in statuses(web.store).items()} == {
        f"D{n}": "done" for n in range(1, 6)
    }
    assert stored_titles(web.store) == {f"T{n}": "todo" for n in range(1, 6)}
    assert sorted(changed) == [(f"T{n}",) for n in range(1, 6)]
