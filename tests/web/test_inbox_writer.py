"""The receiver's group-committing inbox writer: its held connection and SQLite checkpoints."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text

from okrbridge.runtime.inbox_writer import InboxWriter
from okrbridge.store import testing as pg_testing  # (its test_pg_url is no test to collect)
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from tests.conftest import PG_SKIP_REASON
from tests.web.conftest import inbox_rows

BODY = b"x" * 8000  # two pages and more per row


def _write(writer: InboxWriter, ids: range) -> list[bool]:
    futures = [writer.submit("mem", f"W{i}", {"h": "v"}, BODY, event="e") for i in ids]
    return [future.result(timeout=30) for future in futures]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'writer.sqlite3'}")
    upgrade(store)
    yield store
    store.dispose()


@pytest.fixture
def pg_store() -> Iterator[Store]:
    server = pg_testing.test_pg_url()
    if server is None:
        pytest.skip(PG_SKIP_REASON)
    with pg_testing.isolated_pg_url(server) as url:
        store = Store(url)
        upgrade(store)
        yield store
        store.dispose()


def test_acknowledged_batches_are_readable_and_new_only_once(store: Store) -> None:
    writer = InboxWriter(store)
    writer.start()
    try:
        assert _write(writer, range(5)) == [True] * 5
        assert _write(writer, range(3, 8)) == [False, False, True, True, True]
    finally:
        writer.stop()
    assert sorted(row[0] for row in inbox_rows(store)) == [f"W{i}" for i in range(8)]


def test_writer_commits_leave_the_checkpoint_to_its_side_thread(sqlite_store: Store) -> None:
    store = sqlite_store
    writer = InboxWriter(store, checkpoint_every=3600)  # the side thread stays idle here
    writer.start()
    wal = Path(str(store.url.database) + "-wal")
    try:
        for start in range(0, 600, 10):  # small commits, ~1,500 pages in all
            _write(writer, range(start, start + 10))
        size = wal.stat().st_size
    finally:
        writer.stop()
    # Had a commit run SQLite's automatic checkpoint (at 1,000 pages), the WAL would have
    # restarted from its beginning and never grown past ~1,030 pages of 4 KiB.
    assert size > 1200 * 4096


def test_stop_checkpoints_so_the_database_file_alone_holds_the_rows(
    sqlite_store: Store, tmp_path: Path
) -> None:
    store, database = sqlite_store, Path(str(sqlite_store.url.database))
    writer = InboxWriter(store, checkpoint_every=3600)
    writer.start()
    _write(writer, range(50))
    writer.stop()
    copy = tmp_path / "alone.sqlite3"
    shutil.copyfile(database, copy)  # without its -wal file: only checkpointed pages
    with closing(sqlite3.connect(copy)) as connection:
        count = connection.execute(
            "SELECT count(*) FROM webhook_inbox WHERE connector='mem'"
        ).fetchone()
    assert count == (50,)


@pytest.mark.postgres
def test_a_dropped_connection_is_replaced_without_failing_the_batch(pg_store: Store) -> None:
    store = pg_store  # terminating the server's backend of the held connection
    writer = InboxWriter(store)
    writer.start()
    try:
        assert _write(writer, range(1)) == [True]
        held = writer._connection  # the writer's own backend, and only it
        assert held is not None
        backend = held.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
        with store.engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        assert _write(writer, range(1, 3)) == [True, True]
    finally:
        writer.stop()
    assert sorted(row[0] for row in inbox_rows(store)) == ["W0", "W1", "W2"]
