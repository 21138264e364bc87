"""Group commit of webhook deliveries into the inbox.

Request handlers hand a delivery to `InboxWriter.submit` and await the returned future; one
writer thread commits everything queued so far in one transaction and only then resolves the
futures, so a 202 always means "durably stored". Under load, deliveries that arrive while a
commit is in flight form the next batch: no artificial wait at low rates, few commits at high.

The writer keeps one connection (no pool checkout and pre-ping per batch; a batch that meets a
dropped connection is retried once on a new one). On SQLite its commits never run a WAL
checkpoint: a checkpoint copies the WAL into the database and fsyncs it, tens of milliseconds
that would delay every acknowledgement waiting behind it. A side thread checkpoints instead
(PASSIVE: it never blocks the writer), every `checkpoint_every` seconds while there are writes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from okrbridge.logs import get_logger
from okrbridge.store.db import Store
from okrbridge.store.models import utcnow
from okrbridge.store.repos.inbox import INBOX
from okrbridge.store.text import clean, clean_text

__all__ = ["InboxWriter", "Row", "add_deliveries"]

log = get_logger(__name__)

Row = tuple[str, str, Mapping[str, str], bytes, str]
"""A delivery to store: connector instance, delivery id, kept headers, body, event name."""


@dataclass
class _Pending:
    connector: str
    delivery_id: str
    headers: Mapping[str, str]
    body: bytes
    event: str = ""
    future: Future[bool] = field(default_factory=Future)


class InboxWriter:
    """One thread writing deliveries in batches; `submit` returns a future of "was it new"."""

    def __init__(
        self,
        store: Store,
        *,
        max_batch: int = 500,
        on_stored: Callable[[], None] | None = None,
        checkpoint_every: float = 0.5,
    ) -> None:
        self.store, self.max_batch, self.on_stored = store, max_batch, on_stored
        self.checkpoint_every = checkpoint_every
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
        self._closed = False
        self._connection: Connection | None = None
        self._sqlite = store.dialect == "sqlite"
        self._written = threading.Event()  # commits since the last checkpoint
        self._stopped = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoints, name="inbox-checkpoint", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        if self._sqlite:
            self._checkpointer.start()

    def submit(
        self,
        connector: str,
        delivery_id: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        event: str = "",
    ) -> Future[bool]:
        """Queue a delivery (`headers` already cut down to what the inbox keeps)."""
        pending = _Pending(connector, delivery_id, headers, body, event)
        if self._closed:
            pending.future.set_exception(RuntimeError("the inbox writer is stopped"))
        else:
            self._queue.put(pending)
        return pending.future

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the threads."""
        self._closed = True
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._stopped.set()
        if self._checkpointer.is_alive():
            self._checkpointer.join(timeout)

    def _run(self) -> None:
        try:
            self._batches()
        finally:
            self._release()

    def _batches(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, done = [first], False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    done = True
                    break
                batch.append(item)
            self._write(batch)
            if done:
                return

    def _write(self, batch: list[_Pending]) -> None:
        rows = [(p.connector, p.delivery_id, p.headers, p.body, p.event) for p in batch]
        try:
            new = self._insert(rows)
        except Exception as exc:  # the store is down: every request of the batch gets 503
            reason = exc.orig if isinstance(exc, DBAPIError) else exc  # not the SQL and rows
            log.error("inbox write failed", deliveries=len(batch), error=str(reason))
            for pending in batch:
                pending.future.set_exception(exc)
            return
        self._written.set()
        if self.on_stored is not None and any(new):
            self.on_stored()  # wake the worker before anyone is answered: no window between
        for pending, is_new in zip(batch, new, strict=True):
            pending.future.set_result(is_new)

    def _insert(self, rows: Sequence[Row]) -> list[bool]:
        for attempt in (1, 2):
            connection = self._connect()
            try:
                with connection.begin():
                    return _add(connection, rows)
            except DBAPIError as exc:
                if not exc.connection_invalidated or attempt == 2:
                    raise
                # The database dropped the held connection (restart, failover, idle
                # timeout): what pre-ping on checkout did before, once per batch.
                log.warning("inbox writer reconnects", error=str(exc.orig))
                self._release()
        raise AssertionError("unreachable")

    def _connect(self) -> Connection:
        if self._connection is None:
            connection = self.store.engine.connect()
            if self._sqlite:  # checkpoints are the side thread's job (see the module doc)
                connection.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
                connection.commit()
            self._connection = connection
        return self._connection

    def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if self._sqlite and not connection.invalidated:  # back to the pool as it came
                connection.exec_driver_sql("PRAGMA wal_autocheckpoint=1000")
                connection.commit()
        except Exception:
            connection.invalidate()
        finally:
            connection.close()

    def _checkpoints(self) -> None:
        while not self._stopped.wait(self.checkpoint_every):
            if self._written.is_set():
                self._checkpoint()
        self._checkpoint()  # what the last batches wrote

    def _checkpoint(self) -> None:
        self._written.clear()
        try:
            with self.store.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                connection.commit()
        except Exception as exc:  # the next round tries again; commits go on regardless
            log.warning("inbox checkpoint failed", error=str(exc))


_STATEMENTS: dict[str, Any] = {}


def add_deliveries(session: Session, rows: Sequence[Row]) -> list[bool]:
    """Store many deliveries (connector, delivery id, headers, body, event) in one executemany
    INSERT ... ON CONFLICT DO NOTHING; for each,
    True when it was new (False: its delivery id was stored before, or earlier in `rows`).

    `inbox.add_delivery` builds one statement per row (about 1 ms of Python each); this is
    the batch path the receiver's group commit needs to take over 1,000 deliveries a second.
    """
    return _add(session.connection(), rows)


def _add(connection: Connection, rows: Sequence[Row]) -> list[bool]:
    if not rows:
        return []
    stmt = _insert_statement(connection.dialect.name)
    at = utcnow()
    # Text as every store keeps it (okrbridge.store.text); the body stays the bytes received.
    keys = [(clean_text(row[0]), clean_text(row[1])) for row in rows]
    first: dict[tuple[str, str], int] = {}
    params = []
    for index, ((connector, delivery_id), (_, _, headers, body, event)) in enumerate(
        zip(keys, rows, strict=True)
    ):
        if (connector, delivery_id) in first:
            continue
        first[(connector, delivery_id)] = index
        params.append(
            {"connector": connector, "delivery_id": delivery_id, "received_at": at,
             "headers": clean(dict(headers)), "body": body, "status": "pending", "attempts": 0,
             "next_attempt_at": at, "event": clean_text(event)[:100]}
        )  # fmt: skip
    inserted = {(row[0], row[1]) for row in connection.execute(stmt, params)}
    return [key in inserted and first[key] == index for index, key in enumerate(keys)]


def _insert_statement(dialect: str) -> Any:
    if dialect not in _STATEMENTS:
        table: Table = INBOX
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        _STATEMENTS[dialect] = (
            insert(table)
            .on_conflict_do_nothing(index_elements=[table.c.connector, table.c.delivery_id])
            .returning(table.c.connector, table.c.delivery_id)
        )
    return _STATEMENTS[dialect]
