"""Named leases so that one replica at a time runs a job; each call is one atomic statement.

Call them in a short transaction of their own, so the lease is visible to others at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, delete, exists, select, update
from sqlalchemy.orm import Session

from okrbridge.store.models import LeaseRow
from okrbridge.store.repos._sql import now_or, rowcount, upsert_insert

__all__ = [
    "acquire_lease",
    "mark_waiting",
    "release_lease",
    "renew_lease",
    "someone_waits",
    "unmark_waiting",
]

LEASES: Table = LeaseRow.__table__  # type: ignore[assignment]


def _ttl(ttl: timedelta | float) -> timedelta:
    return ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)


def acquire_lease(
    session: Session,
    name: str,
    holder: str,
    ttl: timedelta | float,
    *,
    now: datetime | None = None,
) -> bool:
    """Take `name` for `ttl` if it is free, expired or already ours; True when we hold it."""
    at = now_or(now)
    stmt = upsert_insert(session, LEASES).values(
        name=name, holder=holder, expires_at=at + _ttl(ttl)
    )
    # The conflict branch only fires for a row we may take over; otherwise nothing is written
    # and the statement returns no row, on both dialects.
    stmt = stmt.on_conflict_do_update(
        index_elements=[LEASES.c.name],
        set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
        where=(LEASES.c.holder == stmt.excluded.holder) | (LEASES.c.expires_at <= at),
    )
    # RETURNING, not rowcount: psycopg reports no row count for INSERT ... ON CONFLICT here.
    return session.execute(stmt.returning(LEASES.c.name)).first() is not None


def renew_lease(
    session: Session,
    name: str,
    holder: str,
    ttl: timedelta | float,
    *,
    now: datetime | None = None,
) -> bool:
    """Extend our lease; False when someone else holds it now (we lost it)."""
    result = session.execute(
        update(LEASES)
        .where(LEASES.c.name == name, LEASES.c.holder == holder)
        .values(expires_at=now_or(now) + _ttl(ttl))
    )
    return rowcount(result) == 1


def release_lease(session: Session, name: str, holder: str) -> bool:
    """Give the lease up if we hold it."""
    result = session.execute(delete(LEASES).where(LEASES.c.name == name, LEASES.c.holder == holder))
    return rowcount(result) == 1


# -- waiting for a lease ---------------------------------------------------------------------
# A job that finds a lease held says so in a row of its own (`wait:<lease>:<waiter>`); a holder
# that can pause (a drain between two writes) checks for such rows and hands the lease over.


def _waiting_row(name: str, waiter: str) -> str:
    return f"wait:{name}:{waiter}"


def mark_waiting(
    session: Session,
    name: str,
    waiter: str,
    ttl: timedelta | float,
    *,
    now: datetime | None = None,
) -> None:
    """Say that `waiter` waits for `name` for the next `ttl` (expired marks are dropped)."""
    at = now_or(now)
    session.execute(
        delete(LEASES).where(
            LEASES.c.name.startswith(f"wait:{name}:", autoescape=True), LEASES.c.expires_at <= at
        )
    )
    stmt = upsert_insert(session, LEASES).values(
        name=_waiting_row(name, waiter), holder=waiter, expires_at=at + _ttl(ttl)
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[LEASES.c.name], set_={"expires_at": stmt.excluded.expires_at}
        )
    )


def unmark_waiting(session: Session, name: str, waiter: str) -> None:
    session.execute(delete(LEASES).where(LEASES.c.name == _waiting_row(name, waiter)))


def someone_waits(session: Session, name: str, *, now: datetime | None = None) -> bool:
    """True when a job waits for `name` (its mark has not expired)."""
    marks = select(LEASES.c.name).where(
        LEASES.c.name.startswith(f"wait:{name}:", autoescape=True),
        LEASES.c.expires_at > now_or(now),
    )
    return bool(session.scalar(select(exists(marks))))
