"""Run a piece of work while holding a named store lease, renewed in the background.

Replicas sharing one database take the lease before a job; the one that gets it runs the job
and releases it at the end. A holder that dies stops renewing, so its lease expires after
`ttl` and another replica can take over.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from okrbridge.logs import get_logger
from okrbridge.store.db import Store
from okrbridge.store.repos.leases import acquire_lease, release_lease, renew_lease

__all__ = ["LeaseHold", "Leases", "process_id"]

log = get_logger(__name__)


def process_id() -> str:
    """`host:pid:random`, unique per daemon process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class LeaseHold:
    """A held lease; `lost` is set when a renewal found someone else holding it."""

    def __init__(self, name: str, holder: str) -> None:
        self.name, self.holder = name, holder
        self.lost = threading.Event()


class Leases:
    """Named leases in `store` for one process, each hold under a holder id of its own (two
    threads of one process exclude each other too)."""

    def __init__(self, store: Store, ttl: float, *, owner: str | None = None) -> None:
        self.store, self.ttl = store, ttl
        self.owner = owner or process_id()

    @contextmanager
    def hold(self, name: str) -> Iterator[LeaseHold | None]:
        """Yield a `LeaseHold` when the lease was taken (renewed until the block ends), None
        when another holder has it."""
        hold = LeaseHold(name, f"{self.owner}:{uuid.uuid4().hex[:6]}")
        with self.store.session() as session:
            if not acquire_lease(session, name, hold.holder, self.ttl):
                yield None
                return
        done = threading.Event()
        renewer = threading.Thread(
            target=self._renew, args=(hold, done), name=f"lease-{name}", daemon=True
        )
        renewer.start()
        try:
            yield hold
        finally:
            done.set()
            renewer.join(timeout=self.ttl)
            self._release(hold)

    def _renew(self, hold: LeaseHold, done: threading.Event) -> None:
        while not done.wait(self.ttl / 3):
            try:
                with self.store.session() as session:
                    kept = renew_lease(session, hold.name, hold.holder, self.ttl)
            except Exception as exc:  # the store hiccupped: try again at the next beat
                log.warning("lease renewal failed", lease=hold.name, error=str(exc))
                continue
            if not kept:
                log.warning("lease lost to another holder", lease=hold.name)
                hold.lost.set()
                return

    def _release(self, hold: LeaseHold) -> None:
        try:
            with self.store.session() as session:
                release_lease(session, hold.name, hold.holder)
        except Exception as exc:  # it expires on its own
            log.warning("lease release failed", lease=hold.name, error=str(exc))
