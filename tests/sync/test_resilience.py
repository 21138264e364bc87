"""The invariants under stress: faults, many syncs, and a process killed at any point."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from okrbridge.domain import StatusCategory
from okrbridge.sandbox import FaultPlan, Latency, SeedTask
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.store.models import PushStateRow, TaskRow
from tests.support.memory.config import write_config
from tests.sync.conftest import Bench

REPO = Path(__file__).resolve().parents[2]


def bridge_labels(bench: Bench, tid: str) -> list[str]:
    return [label for label in bench.tool.labels_of(tid) if label.startswith("okr:")]


def assert_converged(bench: Bench, ids: list[str]) -> None:
    """Every open mapped task: exactly one bridge label and one bot comment; others none."""
    for tid in ids:
        labels = bench.tool.labels_of(tid)
        comments = [c for c in bench.tool.comments_of(tid) if "OKR status" in c.body]
        assert len(comments) <= 1, (tid, comments)
        if "reviews" in labels and bench.tool.status_of(tid) is not StatusCategory.DONE:
            assert len(bridge_labels(bench, tid)) == 1, (tid, labels)
            assert len(comments) == 1, tid
        else:
            assert bridge_labels(bench, tid) == [], (tid, labels)


def seed(bench: Bench, n: int) -> list[str]:
    rng = random.Random(7)
    ids = []
    for i in range(n):
        labels = ("reviews", "team-a") if i % 5 else ("other",)
        status = rng.choice(list(StatusCategory))
        ids.append(bench.tool.add_task(SeedTask(f"task {i}", "MKT", status, labels)))
    return ids


def test_sync_converges_with_429s_and_5xx_injected(bench: Bench) -> None:
    ids = seed(bench, 60)
    # 10% 429 (with Retry-After) and 5% 5xx, on every path and method.
    bench.server.faults = FaultPlan(["429", "429", "500"], rate=0.15, seed=3)
    report = bench.sync()
    assert report.ok, [c.error for c in report.connectors]
    assert bench.server.log.count() > 0
    bench.server.faults = None
    assert_converged(bench, ids)
    before = bench.tool.write_count()
    bench.sync()
    assert bench.tool.write_count() == before


def test_fifty_syncs_keep_one_comment_and_one_label(bench: Bench) -> None:
    ids = seed(bench, 15)
    rng = random.Random(11)
    for _ in range(50):
        for tid in rng.sample(ids, 3):
            bench.tool.set_status(tid, rng.choice(list(StatusCategory)))
        bench.sync()
    assert_converged(bench, ids)
    for tid in ids:
        assert ("team-a" in bench.tool.labels_of(tid)) == ("reviews" in bench.tool.labels_of(tid))


def count(store: Store, what: type) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(what)) or 0)


def written(store: Store) -> int:
    """Tasks the bridge has written to (the pull also records what it saw: not counted)."""
    with store.session() as session:
        query = select(func.count()).where(PushStateRow.comment_id.is_not(None))
        return int(session.scalar(query) or 0)


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["pull", "push"])
def test_killed_sync_resumes_without_loss_or_duplicates(
    bench: Bench, tmp_path: Path, phase: str, db_url: str
) -> None:
    ids = seed(bench, 120)
    bench.server.latency = Latency(ms=25)
    store = Store(db_url)
    upgrade(store)
    config = tmp_path / "okrbridge.toml"
    write_config(config, tool_url=bench.server.url, store_url=db_url)
    env = {**os.environ, **bench.tool.env(), "PYTHONPATH": str(REPO)}
    command = [
        sys.executable,
        "-m",
        "tests.support.cli_with_memory",
        "sync",
        "--config",
        str(config),
    ]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        tasks, pushed = count(store, TaskRow), written(store)
        if (phase == "pull" and 0 < tasks < len(ids)) or (phase == "push" and pushed >= 5):
            break
        time.sleep(0.01)
    assert process.poll() is None, "the sync finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    bench.server.latency = Latency()
    rerun = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert count(store, TaskRow) == len(ids)
    with store.session() as session:
        stored = session.scalars(select(TaskRow.external_id)).all()
    assert sorted(stored) == sorted(ids)
    assert_converged(bench, ids)
    before = bench.tool.write_count()
    again = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 0
    assert bench.tool.write_count() == before
    store.dispose()
