"""Group commit of webhook deliveries into the inbox.

Request handlers hand a delivery to `InboxWriter.submit` and await the returned future; one
writer thread commits everything queued so far in one transaction and only then resolves the
futures, so a 202 always means "durably stored". Under load, deliveries that arrive while a
commit is in flight form the next batch: no artificial wait at low rates, few commits at high.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from okrbridge.logs import get_logger
from okrbridge.store.db import Store
from okrbridge.store.models import utcnow
from okrbridge.store.repos._sql import upsert_insert
from okrbridge.store.repos.inbox import INBOX

__all__ = ["InboxWriter", "add_deliveries"]

log = get_logger(__name__)


@dataclass
class _Pending:
    connector: str
    delivery_id: str
    headers: Mapping[str, str]
    body: bytes
    future: Future[bool] = field(default_factory=Future)


class InboxWriter:
    """One thread writing deliveries in batches; `submit` returns a future of "was it new"."""

    def __init__(
        self,
        store: Store,
        *,
        max_batch: int = 500,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self.store, self.max_batch, self.on_stored = store, max_batch, on_stored
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
        self._closed = False

    def start(self) -> None:
        self._thread.start()

    def submit(
        self, connector: str, delivery_id: str, headers: Mapping[str, str], body: bytes
    ) -> Future[bool]:
        pending = _Pending(connector, delivery_id, headers, body)
        if self._closed:
            pending.future.set_exception(RuntimeError("the inbox writer is stopped"))
        else:
            self._queue.put(pending)
        return pending.future

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the thread."""
        self._closed = True
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
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
        try:
            with self.store.session() as session:
                new = add_deliveries(
                    session, [(p.connector, p.delivery_id, p.headers, p.body) for p in batch]
                )
        except Exception as exc:  # the store is down: every request of the batch gets 503
            log.error("inbox write failed", deliveries=len(batch), error=str(exc))
            for pending in batch:
                pending.future.set_exception(exc)
            return
        for pending, is_new in zip(batch, new, strict=True):
            pending.future.set_result(is_new)
        if self.on_stored is not None and any(new):
            self.on_stored()


_STATEMENTS: dict[str, Any] = {}


def add_deliveries(
    session: Session, rows: Sequence[tuple[str, str, Mapping[str, str], bytes]]
) -> list[bool]:
    """Store many deliveries in one executemany INSERT ... ON CONFLICT DO NOTHING; for each,
    True when it was new (False: its delivery id was stored before, or earlier in `rows`).

    `inbox.add_delivery` builds one statement per row (about 1 ms of Python each); this is
    the batch path the receiver's group commit needs to take over 1,000 deliveries a second.
    """
    if not rows:
        return []
    stmt = _insert_statement(session)
    at = utcnow()
    first: dict[tuple[str, str], int] = {}
    params = []
    for index, (connector, delivery_id, headers, body) in enumerate(rows):
        if (connector, delivery_id) in first:
            continue
        first[(connector, delivery_id)] = index
        params.append(
            {"connector": connector, "delivery_id": delivery_id, "received_at": at,
             "headers": dict(headers), "body": body, "status": "pending", "attempts": 0,
             "next_attempt_at": at}
        )  # fmt: skip
    inserted = {(row[0], row[1]) for row in session.execute(stmt, params)}
    return [
        (connector, delivery_id) in inserted and first[(connector, delivery_id)] == index
        for index, (connector, delivery_id, _, _) in enumerate(rows)
    ]


def _insert_statement(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect not in _STATEMENTS:
        table: Table = INBOX
        _STATEMENTS[dialect] = (
            upsert_insert(session, table)
            .on_conflict_do_nothing(index_elements=[table.c.connector, table.c.delivery_id])
            .returning(table.c.connector, table.c.delivery_id)
        )
    return _STATEMENTS[dialect]
