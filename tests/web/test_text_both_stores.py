"""Text with lone surrogates and NUL, through a signed webhook and through a pull: answered
202 and applied, never parked, and stored as the same normalised value on SQLite and
PostgreSQL (the `store` fixture runs each test on both)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from okrbridge.connector.base import Page
from okrbridge.daemon.worker import InboxWorker
from okrbridge.sandbox import SandboxServer
from okrbridge.store.db import Store
from okrbridge.store.models import InboxRow, TaskRow
from okrbridge.store.repos.runs import start_run
from okrbridge.sync.pull import pull_into_store
from tests.support.memory import MemoryConnector, MemorySettings, MemoryTool
from tests.web.conftest import Web, sign

NASTY = {
    "title": "a\ud800b\x00c \ud83d\ude00",  # lone high surrogate, NUL, a pair (an emoji)
    "container": "MKT\x00",
    "labels": ["reviews", "x\udc80"],
}
STORED = {
    "title": "a\ufffdbc \U0001f600",
    "container": "MKT",
    "labels": ["reviews", "x\ufffd"],
}


def task_json(tid: str, **text: Any) -> dict[str, Any]:
    return {
        "id": tid, "title": "t", "container": "MKT", "status": "todo", "labels": ["reviews"],
        "estimate": None, "parent": None, "seq": 1, "deleted": False,
        "updated": "2026-11-01T00:00:01+00:00", **text,
    }  # fmt: skip


def stored(store: Store, tid: str) -> dict[str, Any]:
    with store.session() as session:
        row = session.scalar(select(TaskRow).where(TaskRow.external_id == tid))
        assert row is not None
        return {
            "title": row.title,
            "container": row.container,
            "labels": row.labels,
            "raw_title": row.raw["title"],
        }


@pytest.fixture
def tool_url() -> Iterator[tuple[MemoryTool, str]]:
    tool = MemoryTool()
    with SandboxServer(tool.app) as server:
        yield tool, server.url


def test_webhook_text_is_acknowledged_applied_and_normalised(
    web: Web, tool_url: tuple[MemoryTool, str]
) -> None:
    tool, url = tool_url
    payload = {
        "event": "task.updated", "actor": "person", "delivery": "D\x00\ud800",
        "task": task_json("T\x001", **NASTY),
    }  # fmt: skip
    body = json.dumps(payload).encode()  # JSON escapes: "\ud800", "\u0000"
    response = web.client.post("/webhooks/mem", content=body, headers=sign(body))
    assert (response.status_code, response.json()) == (
        202, {"status": "accepted", "delivery": "D\ufffd"},
    )  # fmt: skip
    settings = MemorySettings(**tool.settings(url))
    worker = InboxWorker(
        web.store,
        {"mem": MemoryConnector("mem", settings, tool.env())},
        worker_id="w1",
        on_changed=lambda instance, ids: None,
    )
    assert worker.process_once() == 1
    with web.store.session() as session:
        inbox = session.execute(select(InboxRow.delivery_id, InboxRow.status)).all()
    assert [tuple(row) for row in inbox] == [("D\ufffd", "done")]
    assert stored(web.store, "T1") == {**STORED, "raw_title": STORED["title"]}


def test_literal_nul_byte_in_a_signed_body_is_400_not_parked(web: Web) -> None:
    body = json.dumps({"event": "task.updated", "delivery": "D2", "task": task_json("T2")})
    raw = body.replace('"t"', '"t\x00"').encode()  # a raw control character: not JSON
    response = web.client.post("/webhooks/mem", content=raw, headers=sign(raw))
    assert response.status_code == 400
    with web.store.session() as session:
        assert session.scalar(select(InboxRow.id)) is None


class PagesConnector(MemoryConnector):
    """The memory connector whose pull hands over prepared pages (a tool's odd text)."""

    pages: Sequence[Page] = ()

    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        yield from self.pages


def test_pulled_text_is_normalised_alike(store: Store) -> None:
    tool = MemoryTool()
    connector = PagesConnector(
        "mem", MemorySettings(**tool.settings("http://127.0.0.1:9")), tool.env()
    )
    connector.pages = [Page([connector._task(task_json("P\x001", **NASTY))], None, ["gone\x00"])]
    with store.session() as session:
        run_id = start_run(session, "mem", "full", False)
    first = pull_into_store(store, connector, run_id, full=True)
    assert first.changed == 1
    assert stored(store, "P1") == {**STORED, "raw_title": STORED["title"]}
    again = pull_into_store(store, connector, run_id, full=True)  # same text: same digest
    assert again.changed == 0
