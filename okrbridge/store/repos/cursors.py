"""Pull cursors per connector, written in the same transaction as the page they follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from okrbridge.store.models import CursorRow
from okrbridge.store.repos._sql import now_or, upsert_insert

__all__ = ["CursorState", "get_cursor", "get_cursor_state", "set_cursor"]

CURSORS: Table = CursorRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class CursorState:
    connector: str
    cursor: str | None
    last_full_pass_at: datetime | None
    updated_at: datetime


def get_cursor(session: Session, connector: str) -> str | None:
    """The stored cursor of `connector` (None: pull from the start)."""
    state = get_cursor_state(session, connector)
    return None if state is None else state.cursor


def get_cursor_state(session: Session, connector: str) -> CursorState | None:
    """The cursor with the time of the last completed full pass."""
    row = session.execute(select(CURSORS).where(CURSORS.c.connector == connector)).first()
    if row is None:
        return None
    return CursorState(row.connector, row.cursor, row.last_full_pass_at, row.updated_at)


def set_cursor(
    session: Session,
    connector: str,
    cursor: str | None,
    full_pass: bool = False,
    *,
    now: datetime | None = None,
) -> None:
    """Store the cursor; `full_pass=True` also records that a full pass just completed."""
    at = now_or(now)
    values: dict[str, Any] = {"connector": connector, "cursor": cursor, "updated_at": at}
    if full_pass:
        values["last_full_pass_at"] = at
    stmt = upsert_insert(session, CURSORS).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[CURSORS.c.connector],
        set_={name: stmt.excluded[name] for name in values if name != "connector"},
    )
    session.execute(stmt)
