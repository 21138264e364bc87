from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from okrbridge.config.schema import Config, WebSettings
from okrbridge.runtime.inbox_writer import InboxWriter
from okrbridge.runtime.metrics import DaemonMetrics
from okrbridge.scheduler.health import HealthBoard
from okrbridge.store.db import Store
from okrbridge.web import WebState, create_app
from tests.support.memory import MemoryConnector, MemorySettings, MemoryTool
from tests.support.memory.tool import SECRET

CAP = 4096


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-memory-signature": f"sha256={digest}"}


def delivery(delivery_id: str, task_id: str = "T1", *, actor: str = "person") -> bytes:
    task = {
        "id": task_id, "title": "t", "container": "MKT", "status": "todo", "labels": ["reviews"],
        "estimate": None, "parent": None, "seq": 1, "deleted": False,
        "updated": "2026-11-01T00:00:01+00:00",
    }  # fmt: skip
    payload = {"event": "task.updated", "actor": actor, "delivery": delivery_id, "task": task}
    return json.dumps(payload).encode()


@dataclass
class Web:
    client: TestClient
    state: WebState
    store: Store
    wakes: list[int]


@pytest.fixture
def web(store: Store) -> Iterator[Web]:
    tool = MemoryTool()
    settings = MemorySettings(**tool.settings("http://127.0.0.1:9"))
    connector = MemoryConnector("mem", settings, tool.env())
    config = Config(connectors={"mem": settings}, web=WebSettings(max_body_bytes=CAP))
    wakes: list[int] = []
    writer = InboxWriter(store, on_stored=lambda: wakes.append(1))
    writer.start()
    metrics = DaemonMetrics(store)
    state = WebState(config, store, {"mem": connector}, writer, metrics, HealthBoard(["mem"]))
    with TestClient(create_app(state), raise_server_exceptions=False) as client:
        yield Web(client, state, store, wakes)
    writer.stop()


def inbox_rows(store: Store) -> list[Any]:
    from sqlalchemy import select

    from okrbridge.store.models import InboxRow

    with store.session() as session:
        return list(session.execute(select(InboxRow.delivery_id, InboxRow.body)).all())
