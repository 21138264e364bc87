"""A thread-safe record of every request a simulator received."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from okrbridge.sandbox.faults import FaultKind

__all__ = ["LoggedRequest", "RequestLog"]


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the harness saw it.

    `started` is `time.monotonic()` at arrival, `duration` seconds until the answer started
    (or the fault ended). `status` is the app's answer, or the injected fault's (None when
    nothing answered); `fault` is the injected fault, if any; `processed` tells whether the
    wrapped app ran.
    """

    seq: int
    method: str
    path: str
    query: str
    status: int | None
    started: float
    duration: float
    is_write: bool
    fault: FaultKind | None = None
    processed: bool = True


class RequestLog:
    """Append-only list of `LoggedRequest`, safe to read from tests while a server runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[LoggedRequest] = []
        self._seq = 0
        self._cleared_upto = 0

    def next_seq(self) -> int:
        """Reserve the sequence number of an arriving request (1-based)."""
        with self._lock:
            self._seq += 1
            return self._seq

    def append(self, item: LoggedRequest) -> None:
        with self._lock:
            if item.seq > self._cleared_upto:  # still in flight at `clear`: forgotten too
                self._items.append(item)

    def snapshot(self) -> list[LoggedRequest]:
        """The finished requests so far, in arrival order."""
        with self._lock:
            return sorted(self._items, key=lambda item: item.seq)

    def clear(self) -> None:
        """Forget all requests so far, also those still in flight; numbering continues."""
        with self._lock:
            self._items.clear()
            self._cleared_upto = self._seq

    def count(
        self,
        method: str | None = None,
        path_prefix: str | None = None,
        *,
        writes_only: bool = False,
        processed_only: bool = False,
    ) -> int:
        """How many finished requests match all the given filters.

        `processed_only` counts only requests the wrapped app handled (faults injected before
        processing excluded), i.e. what could have changed the tool's state.
        """
        wanted = method.upper() if method else None
        return sum(
            1
            for item in self.snapshot()
            if (wanted is None or item.method == wanted)
            and (path_prefix is None or item.path.startswith(path_prefix))
            and (not writes_only or item.is_write)
            and (not processed_only or item.processed)
        )

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
