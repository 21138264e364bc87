"""One sync per connector instance at a time, on every store: the instance's store lease.

`okrbridge sync`, `cleanup` and the daemon's jobs all take the lease `sync:<instance>` before
they pull or write. A second run waits a few seconds for it (saying so, so that a daemon
draining a long queue hands the instance over after its write in flight), then gives up naming
the holder (host, pid, since when), so two runs never push to one tool at once. The lease is
renewed in the background while held; a holder that died expires after `ttl`, at once when it
was a process on this host that no longer exists.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import delete, select

from okrbridge.logs import get_logger
from okrbridge.store.db import Store
from okrbridge.store.models import LeaseRow
from okrbridge.store.repos.leases import (
    acquire_lease,
    mark_waiting,
    release_lease,
    renew_lease,
    unmark_waiting,
)

__all__ = ["InstanceBusy", "describe_holder", "instance_lease", "lease_name"]

log = get_logger(__name__)
_SINCE = "%Y%m%dT%H%M%SZ"


class InstanceBusy(Exception):  # noqa: N818 - reads as a state
    """Another run holds the instance's sync lease."""


def lease_name(instance: str) -> str:
    """The lease every sync of `instance` takes (the daemon's jobs use the same name)."""
    return f"sync:{instance}"


def _holder() -> str:
    since = datetime.now(UTC).strftime(_SINCE)
    return f"{socket.gethostname()}:{os.getpid()}:{since}:{uuid.uuid4().hex[:8]}"


def describe_holder(holder: str) -> str:
    """`host h, pid p, since t` from a holder id (`host:pid:...`)."""
    parts = holder.split(":")
    if len(parts) < 2:
        return holder
    text = f"host {parts[0]}, pid {parts[1]}"
    try:
        since = datetime.strptime(parts[2], _SINCE).replace(tzinfo=UTC)
    except (IndexError, ValueError):
        return text
    return f"{text}, since {since.isoformat(timespec='seconds')}"


def _dead_local_holder(holder: str) -> bool:
    """The holder is a process of this host that no longer runs (killed mid-sync)."""
    host, _, rest = holder.partition(":")
    pid = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _take(store: Store, name: str, holder: str, ttl: float) -> str | None:
    """Take the lease; on failure return the current holder's id."""
    with store.session() as session:
        if acquire_lease(session, name, holder, ttl):
            return None
        current = session.scalar(select(LeaseRow.holder).where(LeaseRow.name == name))
    if current is not None and _dead_local_holder(current):
        with store.session() as session:
            session.execute(
                delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == current)
            )
        log.info("took over the lease of a process that is gone", lease=name, holder=current)
        return _take(store, name, holder, ttl)
    return current or "an unknown holder"


@contextmanager
def instance_lease(
    store: Store, instance: str, *, wait: float = 5.0, ttl: float = 30.0
) -> Iterator[None]:
    """Hold `sync:<instance>` for the block; `InstanceBusy` after `wait` seconds if another
    run holds it."""
    name, holder = lease_name(instance), _holder()
    deadline = time.monotonic() + wait
    waiting = False
    try:
        while (current := _take(store, name, holder, ttl)) is not None:
            if time.monotonic() >= deadline:
                raise InstanceBusy(
                    f"another sync of {instance} is running ({describe_holder(current)}); "
                    "it wrote nothing, try again when that one is done"
                )
            if not waiting and wait > 0:
                with store.session() as session:
                    mark_waiting(session, name, holder, wait + 1.0)
                waiting = True
            time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
    finally:
        if waiting:
            with store.session() as session:
                unmark_waiting(session, name, holder)
    done = threading.Event()
    renewer = threading.Thread(
        target=_renew, args=(store, name, holder, ttl, done), name=f"lease-{name}", daemon=True
    )
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join(timeout=5)
        try:
            with store.session() as session:
                release_lease(session, name, holder)
        except Exception as exc:  # it expires on its own
            log.warning("lease release failed", lease=name, error=str(exc))


def _renew(store: Store, name: str, holder: str, ttl: float, done: threading.Event) -> None:
    while not done.wait(ttl / 3):
        try:
            with store.session() as session:
                if not renew_lease(session, name, holder, ttl):
                    log.warning("sync lease lost to another holder", lease=name)
                    return
        except Exception as exc:  # the store hiccupped: try again at the next beat
            log.warning("sync lease renewal failed", lease=name, error=str(exc))
