"""`okrbridge inbox list|retry|purge` through the real CLI (memory connector registered)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.store.models import InboxRow
from okrbridge.store.repos.inbox import add_delivery, claim_deliveries, park_delivery
from tests.daemon.process import REPO, SECRETS, write_config

pytestmark = pytest.mark.slow  # six CLI subprocesses per store


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.support.cli_with_memory", *args, "--config", str(config)],
        cwd=REPO, env={**os.environ, **SECRETS}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def statuses(store: Store) -> dict[str, tuple[str, int]]:
    with store.session() as session:
        rows = session.execute(select(InboxRow.delivery_id, InboxRow.status, InboxRow.attempts))
        return {d: (s, a) for d, s, a in rows}


def test_list_retry_and_purge(tmp_path: Path, db_url: str) -> None:
    config = write_config(tmp_path / "c.toml", tool_url="http://127.0.0.1:9", store_url=db_url)
    store = Store(db_url)
    upgrade(store)
    with store.session() as session:
        for delivery in ("A", "B", "C"):
            add_delivery(session, "mem", delivery, {}, b"{}")
    with store.session() as session:
        claimed = {d.delivery_id: d.id for d in claim_deliveries(session, "w", 10, 60)}
        park_delivery(session, claimed["A"], "boom", worker="w")
        park_delivery(session, claimed["B"], "boom", worker="w")

    listed = cli(config, "inbox", "list", "--status", "parked", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert sorted(r["delivery_id"] for r in rows) == ["A", "B"]
    assert {r["last_error"] for r in rows} == {"boom"}

    assert cli(config, "inbox", "retry", str(claimed["A"])).returncode == 0
    after = statuses(store)
    assert after["A"] == ("pending", 0)
    assert after["B"][0] == "parked"

    assert cli(config, "inbox", "purge", "--status", "parked").returncode == 0
    assert set(statuses(store)) == {"A", "C"}  # pending deliveries are never purged
    assert cli(config, "inbox", "purge", "--status", "pending").returncode == 2
    assert cli(config, "inbox", "retry").returncode == 2
    store.dispose()
