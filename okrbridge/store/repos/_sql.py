"""Small SQL helpers shared by the repositories: dialect upserts and batching."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from okrbridge.store.db import StoreError
from okrbridge.store.models import utcnow

__all__ = ["ID_CHUNK", "chunked", "dialect_name", "now_or", "rowcount", "upsert_insert"]

T = TypeVar("T")

ID_CHUNK = 5_000
"""Values per `IN (...)` list: far below SQLite's 32,766 bound parameters per statement."""


def chunked(items: Sequence[T], size: int | None = None) -> Iterator[Sequence[T]]:
    """Consecutive slices of `items`, each at most `size` (default `ID_CHUNK`) long."""
    size = size or ID_CHUNK
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def upsert_insert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports `ON CONFLICT` on the session's dialect."""
    name = dialect_name(session)
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise StoreError(f"the store supports SQLite and PostgreSQL, not {name}")


def now_or(now: datetime | None) -> datetime:
    """`now` when given (tests pin time), else the current UTC time."""
    return utcnow() if now is None else now


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE/DELETE or written by an INSERT."""
    return cast("CursorResult[Any]", result).rowcount
