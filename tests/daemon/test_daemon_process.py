"""The daemon as a process: syncs on its schedule, turns webhooks into pushes, stops cleanly on
SIGTERM, loses and repeats no delivery across SIGKILL, and never logs a secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from okrbridge.domain import StatusCategory
from okrbridge.sandbox import SandboxServer, SeedTask, WebhookForwarder
from okrbridge.store.db import Store
from okrbridge.store.models import InboxRow
from tests.daemon.process import SECRETS, DaemonProcess, write_config
from tests.support.memory import MemoryTool
from tests.support.memory.tool import SECRET

pytestmark = pytest.mark.slow


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def signed(delivery_id: str, task_id: str = "T1") -> tuple[dict[str, str], bytes]:
    task = {
        "id": task_id, "title": "t", "container": "MKT", "status": "in_progress",
        "labels": ["reviews"], "estimate": None, "parent": None, "seq": 1, "deleted": False,
        "updated": "2026-11-01T00:00:01+00:00",
    }  # fmt: skip
    body = json.dumps(
        {"event": "task.updated", "actor": "person", "delivery": delivery_id, "task": task}
    ).encode()
    sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-memory-signature": f"sha256={sig}"}, body


@pytest.fixture
def served() -> Iterator[tuple[MemoryTool, SandboxServer]]:
    tool = MemoryTool()
    with SandboxServer(tool.app) as server:
        yield tool, server


def inbox(store_url: str) -> dict[str, str]:
    store = Store(store_url)
    try:
        with store.session() as session:
            rows = session.execute(select(InboxRow.delivery_id, InboxRow.status))
            return {d: s for d, s in rows}
    finally:
        store.dispose()


def applied_counts(*logs: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in logs:
        for line in text.splitlines():
            if '"delivery applied"' in line:
                counts[json.loads(line)["delivery"]] += 1
    return counts


def test_daemon_syncs_pushes_after_webhooks_stops_cleanly_and_logs_no_secret(
    served: tuple[MemoryTool, SandboxServer], tmp_path: Path
) -> None:
    tool, server = served
    tid = tool.add_task(SeedTask("t1", "MKT", StatusCategory.IN_PROGRESS, ("reviews",)))
    store_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    config = write_config(tmp_path / "okrbridge.toml", tool_url=server.url, store_url=store_url)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    with WebhookForwarder() as forwarder:
        try:
            daemon.wait_ready()
            wait_for(lambda: any(x.startswith("okr:") for x in tool.labels_of(tid)))
            tool.set_webhook_sink(f"{daemon.url}/webhooks/mem", forwarder)
            tool.set_status(tid, StatusCategory.DONE)  # a person closes the task
            # The webhook, then the debounced push: done tasks carry no bridge label.
            wait_for(lambda: not any(x.startswith("okr:") for x in tool.labels_of(tid)))
            # A delivery whose id is a secret value: it must be masked wherever it is logged.
            headers, body = signed(SECRETS["MEMORY_WEBHOOK_SECRET"])
            assert daemon.post(headers, body).status_code == 202
            wait_for(lambda: inbox(store_url).get(SECRETS["MEMORY_WEBHOOK_SECRET"]) == "done")
            metrics = httpx.get(f"{daemon.url}/metrics").text
            assert re.search(r'okrbridge_syncs_total\{.*outcome="ok".*\} [1-9]', metrics)
            assert httpx.get(f"{daemon.url}/readyz").json()["connectors"]["mem"]["ok"]
        finally:
            started = time.monotonic()
            code = daemon.stop(signal.SIGTERM)
    assert code == 0
    assert time.monotonic() - started < 30
    log = daemon.output()
    assert "single replica (SQLite store)" in log
    # Off a terminal every line is JSON, the migration's note on a fresh store included.
    records = [json.loads(line) for line in log.splitlines()]
    assert any(r["event"] == "store migrated" for r in records)
    assert '"delivery": "***"' in log  # the masking really ran on that line
    for value in SECRETS.values():
        assert value not in log
    assert all(d.status == 202 for d in forwarder.deliveries)


def test_sigkill_loses_no_accepted_delivery_and_applies_none_twice(
    served: tuple[MemoryTool, SandboxServer], tmp_path: Path, db_url: str
) -> None:
    tool, server = served
    for n in range(7):  # the tasks the deliveries name, so the pushes they cause succeed
        tool.add_task(SeedTask(f"t{n}", "MKT", StatusCategory.IN_PROGRESS, ("reviews",)))
    config = write_config(
        tmp_path / "okrbridge.toml", tool_url=server.url, store_url=db_url, pull="2s"
    )
    first = DaemonProcess(config, tmp_path / "first.log")
    first.wait_ready()
    accepted: list[str] = []
    stop = threading.Event()

    def send() -> None:
        with httpx.Client(timeout=5) as client:
            for n in range(100_000):
                if stop.is_set():
                    return
                headers, body = signed(f"K{n}", f"T{n % 7 + 1}")
                try:
                    response = client.post(
                        f"{first.url}/webhooks/mem", headers=headers, content=body
                    )
                except httpx.HTTPError:
                    return  # the daemon died under us: this one was never acknowledged
                if response.status_code == 202:
                    accepted.append(f"K{n}")

    sender = threading.Thread(target=send)
    sender.start()
    wait_for(lambda: len(accepted) >= 150, timeout=30)
    first.kill()  # SIGKILL: no chance to clean up
    stop.set()
    sender.join(10)
    second = DaemonProcess(config, tmp_path / "second.log")
    try:
        second.wait_ready()
        wait_for(lambda: all(inbox(db_url).get(d) == "done" for d in accepted), timeout=40)
    finally:
        assert second.stop() == 0
    counts = applied_counts(first.output(), second.output())
    # Nothing lost: every acknowledged delivery ended `done` (waited for above). Nothing twice:
    # no delivery is logged as applied more than once. (The kill can fall between a delivery's
    # commit and its log line, so a missing line is not a lost delivery.)
    assert len(counts) >= len(accepted) - 50  # at most the batch in flight at the kill
    assert max(counts.values()) == 1, [d for d, c in counts.items() if c > 1]
