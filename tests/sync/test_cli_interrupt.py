"""Ctrl-C stops `okrbridge sync` after the write in flight: the run is recorded as
interrupted, the rest stays queued and is named, the exit code is 130, and the next sync resumes
the rollout without writing anything twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from okrbridge.domain import StatusCategory
from okrbridge.sandbox import Latency, SandboxServer, SeedTask
from okrbridge.store.db import Store
from okrbridge.store.models import SyncRunRow
from okrbridge.sync.write_queue import pending_count
from tests.support.memory import MemoryTool
from tests.support.memory.config import write_config
from tests.support.memory.tool import BOT

REPO = Path(__file__).resolve().parents[2]
TASKS = 80


@pytest.mark.slow
def test_ctrl_c_stops_after_the_write_in_flight_and_the_next_sync_resumes(
    tmp_path: Path, db_url: str, store: Store
) -> None:
    tool = MemoryTool()
    ids = [
        tool.add_task(SeedTask(f"task {n}", "MKT", StatusCategory.IN_PROGRESS, ("reviews",)))
        for n in range(TASKS)
    ]
    with SandboxServer(tool.app, latency=Latency(ms=20)) as server:
        config = write_config(tmp_path / "okrbridge.toml", tool_url=server.url, store_url=db_url)
        env = {**os.environ, **tool.env(), "PYTHONPATH": str(REPO)}
        env.pop("OKRBRIDGE_CONFIG", None)
        command = [sys.executable, "-m", "tests.support.cli_with_memory", "sync"]
        command += ["--config", str(config)]
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while tool.write_count() < 6 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, "the sync finished before it could be stopped"
        process.send_signal(signal.SIGINT)
        _, raw = process.communicate(timeout=30)
        err = raw.decode()
        assert process.returncode == 130, err
        assert "Traceback" not in err
        found = re.search(r"([\d,]+) change\(s\) remain queued \(mem: ([\d,]+)\)", err)
        assert found, err
        assert "run `okrbridge sync` again to resume them" in err
        left = int(found.group(2).replace(",", ""))
        with store.session() as session:
            assert pending_count(session, "mem") == left
            runs = session.execute(select(SyncRunRow.status, SyncRunRow.error)).all()
        assert [tuple(run) for run in runs] == [("interrupted", "stopped by Ctrl-C")]
        commented = [t for t in ids if any(c.author == BOT for c in tool.comments_of(t))]
        assert left > 0
        assert len(commented) + left == TASKS  # the write in flight was finished and recorded
        writes_before = tool.write_count()
        server.latency = Latency()
        rerun = subprocess.run(command, cwd=REPO, env=env, capture_output=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
    for tid in ids:  # every task once, none twice
        assert len([c for c in tool.comments_of(tid) if c.author == BOT]) == 1
        assert any(label.startswith("okr:") for label in tool.labels_of(tid))
    assert writes_before == 2 * len(commented)
    assert tool.write_count() == 2 * TASKS
