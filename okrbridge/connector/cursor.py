"""Cursor helpers shared by connectors: encoding, time arithmetic, overlap de-duplication.

How a cursor moves (the store commits a page's tasks and its cursor in one transaction):

- A source sorted by update time (Jira `ORDER BY updated ASC`) may advance the cursor with
  every committed page: `advance(cursor, max updated on the page, cap=run_start)`.
- An unsorted source (GitHub project items, Trello cards) may only advance after a *full pass*
  has been committed: the connector emits `Page(cursor=None)` on intermediate pages and the new
  cursor on the last one; a crash mid-pass then repeats the pass instead of skipping items.
- The cursor never moves backwards, and never past `cap`, the time the run started (minus any
  lag for eventually-consistent searches): something updated while the run is reading may be
  missed by this run, so the next run must start before it.
- Incremental reads start at `overlap_start(cursor, overlap)` (clock skew, minute-resolution
  JQL, late indexing); `Deduper` drops what was already read with the same update time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from okrbridge.connector.errors import CursorError

__all__ = [
    "CURSOR_VERSION",
    "Deduper",
    "SeenSet",
    "advance",
    "decode_cursor",
    "encode_cursor",
    "epoch_millis",
    "from_epoch_millis",
    "overlap_start",
]

CURSOR_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(state: Mapping[str, Any]) -> str:
    """A compact JSON cursor, keys sorted (equal states give equal strings), tagged `v`."""
    if "v" in state:
        raise ValueError("'v' is reserved for the cursor version")
    return json.dumps({"v": CURSOR_VERSION, **state}, sort_keys=True, separators=(",", ":"))


def decode_cursor(cursor: str | None, *, instance: str = "") -> dict[str, Any]:
    """The state inside a cursor (without `v`); `{}` for None/empty (pull from the start).

    Raises:
        CursorError: not JSON, not an object, or another cursor version. A full pull
            (`okrbridge sync --full`) writes a fresh cursor.
    """
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError as exc:
        raise CursorError(instance, _corrupt("it is not valid JSON")) from exc
    if not isinstance(data, dict):
        raise CursorError(instance, _corrupt("it is not a JSON object"))
    version = data.pop("v", None)
    if version != CURSOR_VERSION:
        raise CursorError(
            instance, _corrupt(f"its version is {version!r}, expected {CURSOR_VERSION}")
        )
    return data


def _corrupt(why: str) -> str:
    return f"the stored sync cursor cannot be used: {why}; run a full sync to rebuild it"


def _require_aware(dt: datetime) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        # A naive time is read in some local zone and silently shifts the window by its offset.
        raise ValueError(f"naive datetime {dt.isoformat()}: cursor times must carry a timezone")


def overlap_start(cursor_time: datetime, overlap: timedelta) -> datetime:
    """Where an incremental read starts: `overlap` before the cursor."""
    _require_aware(cursor_time)
    if overlap < timedelta(0):
        raise ValueError("overlap must not be negative")
    return cursor_time - overlap


def epoch_millis(dt: datetime) -> int:
    """Milliseconds since the Unix epoch (exact, no float rounding); `dt` must be aware."""
    _require_aware(dt)
    return (dt - _EPOCH) // timedelta(milliseconds=1)


def from_epoch_millis(millis: int) -> datetime:
    """UTC datetime for epoch milliseconds."""
    return _EPOCH + timedelta(milliseconds=millis)


@overload
def advance(
    cursor_time: datetime, page_max_updated: datetime | None, *, cap: datetime
) -> datetime: ...
@overload
def advance(
    cursor_time: None, page_max_updated: datetime | None, *, cap: datetime
) -> datetime | None: ...
def advance(
    cursor_time: datetime | None, page_max_updated: datetime | None, *, cap: datetime
) -> datetime | None:
    """The cursor after a committed page: its newest update time, capped at `cap` (the run's
    start), and never earlier than the current cursor."""
    _require_aware(cap)
    if cursor_time is not None:
        _require_aware(cursor_time)
    if page_max_updated is None:
        return cursor_time
    _require_aware(page_max_updated)
    candidate = min(page_max_updated, cap)
    return candidate if cursor_time is None else max(cursor_time, candidate)


class Deduper:
    """Remembers `(id, updated)` pairs read within the overlap window and drops repeats.

    An item re-read in the overlap with the *same* update time is dropped; one updated again
    is new. `dump()`/`load()` keep the set inside the cursor so the next run also skips what
    this one already stored. Entries older than `window` before the newest seen are pruned.
    """

    def __init__(self, window: timedelta, entries: Iterable[tuple[str, datetime]] = ()) -> None:
        self.window = window
        self._seen: dict[tuple[str, datetime], None] = {}
        self._newest: datetime | None = None
        for item_id, updated in entries:
            self._remember(item_id, updated)

    def is_new(self, item_id: str, updated: datetime) -> bool:
        """True the first time this exact `(item_id, updated)` is offered; records it."""
        _require_aware(updated)
        key = (item_id, updated)
        if key in self._seen:
            return False
        self._remember(item_id, updated)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._seen

    def __len__(self) -> int:
        return len(self._seen)

    def prune(self) -> None:
        """Forget pairs older than `window` before the newest update time seen."""
        if self._newest is None:
            return
        horizon = self._newest - self.window
        self._seen = {k: None for k in self._seen if k[1] >= horizon}

    def dump(self) -> list[list[Any]]:
        """JSON-ready `[[id, epoch_millis], ...]` of the pruned set, sorted (stable cursors)."""
        self.prune()
        return sorted([item_id, epoch_millis(updated)] for item_id, updated in self._seen)

    @classmethod
    def load(cls, data: Iterable[Any] | None, window: timedelta) -> Deduper:
        """Rebuild from `dump()` output (None -> empty)."""
        entries = [(str(item[0]), from_epoch_millis(int(item[1]))) for item in data or ()]
        return cls(window, entries)

    def _remember(self, item_id: str, updated: datetime) -> None:
        _require_aware(updated)
        self._seen[(item_id, updated.astimezone(UTC))] = None
        if self._newest is None or updated > self._newest:
            self._newest = updated


SeenSet = Deduper
"""Alias: the same thing under the name some connectors use."""
