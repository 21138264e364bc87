"""Stops that leave the truth behind: `okrbridge sync` on SIGTERM finishes the write in
flight, records its run as interrupted and exits; the daemon honours SIGTERM within 10 s even
while a job waits on a tool that never answers; a run whose process died (kill -9) is closed
as `interrupted` when the next run of its instance starts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from okrbridge.domain import StatusCategory
from okrbridge.sandbox import Latency, SandboxServer, SeedTask
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.store.models import PushStateRow, SyncRunRow
from okrbridge.store.repos.runs import finish_run, start_run
from tests.daemon.process import REPO, DaemonProcess, write_config
from tests.daemon.test_daemon_process import wait_for
from tests.support.memory import MemoryTool
from tests.support.memory.tool import BOT


def runs(store: Store) -> list[tuple[int, str, str | None]]:
    with store.session() as session:
        rows = session.execute(
            select(SyncRunRow.id, SyncRunRow.status, SyncRunRow.error).order_by(SyncRunRow.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_run_left_running_is_closed_as_interrupted_by_the_next(store: Store) -> None:
    with store.session() as session:
        dead = start_run(session, "mem", "incremental", False)  # its process then died
        other = start_run(session, "other", "incremental", False)
    with store.session() as session:
        nxt = start_run(session, "mem", "incremental", False)
        finish_run(session, nxt, "ok")
    statuses = {run_id: status for run_id, status, _ in runs(store)}
    assert statuses == {dead: "interrupted", other: "running", nxt: "ok"}
    assert "stopped before it finished" in (runs(store)[0][2] or "")


@pytest.fixture
def silent_tool() -> Iterator[str]:
    """A tool that accepts connections and never answers (requests wait for their timeout)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.slow
def test_daemon_stops_within_10s_while_a_job_waits_on_a_silent_tool(
    silent_tool: str, tmp_path: Path
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    config = write_config(tmp_path / "silent.toml", tool_url=silent_tool, store_url=store_url)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemon.wait_ready()
    wait_for(lambda: "answered ReadTimeout" in daemon.output(), timeout=30)  # stuck in a read
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    try:
        code = daemon.proc.wait(timeout=10)
    finally:
        if daemon.proc.poll() is None:
            daemon.kill()
    assert code == 0, daemon.output()
    assert time.monotonic() - started < 10
    assert "exiting with work still running" in daemon.output()


def sync_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "tests.support.cli_with_memory", "sync", "--config", str(config)]


@pytest.mark.slow
def test_a_sync_killed_mid_push_is_closed_as_interrupted_by_the_next(tmp_path: Path) -> None:
    tool = MemoryTool()
    for n in range(60):
        tool.add_task(SeedTask(f"task {n}", "MKT", StatusCategory.IN_PROGRESS, ("reviews",)))
    store_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    with SandboxServer(tool.app, latency=Latency(ms=20)) as server:
        config = write_config(tmp_path / "okrbridge.toml", tool_url=server.url, store_url=store_url)
        env = {**os.environ, **tool.env(), "PYTHONPATH": str(REPO)}
        env.pop("OKRBRIDGE_CONFIG", None)
        process = subprocess.Popen(
            sync_command(config), cwd=REPO, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: tool.write_count() >= 3 or process.poll() is not None, timeout=60)
        assert process.poll() is None, "the sync finished before it could be killed"
        process.kill()  # kill -9: no chance to record anything
        process.wait(10)
        store = Store(store_url)
        assert [status for _, status, _ in runs(store)] == ["running"]
        server.latency = Latency()
        rerun = subprocess.run(sync_command(config), cwd=REPO, env=env, capture_output=True)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert [status for _, status, _ in runs(store)] == ["interrupted", "ok"]
    store.dispose()


@pytest.mark.slow
def test_sync_on_sigterm_finishes_the_write_in_flight_and_records_its_run(
    tmp_path: Path,
) -> None:
    tool = MemoryTool()
    ids = [
        tool.add_task(SeedTask(f"task {n}", "MKT", StatusCategory.IN_PROGRESS, ("reviews",)))
        for n in range(80)
    ]
    store_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    with SandboxServer(tool.app, latency=Latency(ms=20)) as server:
        config = write_config(tmp_path / "okrbridge.toml", tool_url=server.url, store_url=store_url)
        env = {**os.environ, **tool.env(), "PYTHONPATH": str(REPO)}
        env.pop("OKRBRIDGE_CONFIG", None)
        command = sync_command(config)
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        store = Store(store_url)
        upgrade(store)
        wait_for(lambda: tool.write_count() >= 5 or process.poll() is not None, timeout=60)
        assert process.poll() is None, "the sync finished before it could be stopped"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
        assert process.returncode == 1, err
        assert b"stopped by SIGTERM" in err
        assert b"Traceback" not in err
        ((_, status, error),) = runs(store)
        assert (status, error) == ("interrupted", "stopped by SIGTERM")
        # Every comment the bridge wrote is recorded (the write in flight was not lost)...
        with store.session() as session:
            recorded = set(session.scalars(select(PushStateRow.comment_id)))
        written = {c.id for t in ids for c in tool.comments_of(t) if c.author == BOT}
        assert written
        assert written <= recorded
        assert len(written) < len(ids)  # ...and the sync did stop early
        # The next sync finishes the job with one comment per task, never two.
        rerun = subprocess.run(command, cwd=REPO, env=env, capture_output=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
    for tid in ids:
        assert len([c for c in tool.comments_of(tid) if c.author == BOT]) == 1
    store.dispose()
