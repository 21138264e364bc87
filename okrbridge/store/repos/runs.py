"""Sync runs: one row per connector run with its counters, status and error."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from okrbridge.store.models import SyncRunRow
from okrbridge.store.repos._sql import now_or, rowcount
from okrbridge.store.text import clean, clean_text

__all__ = [
    "COUNTERS",
    "INTERRUPTED",
    "close_interrupted",
    "finish_run",
    "interrupt_runs",
    "last_runs",
    "start_run",
]

INTERRUPTED = "interrupted"
"""Status of a run that did not finish: its process was stopped or died mid-way."""

COUNTERS = frozenset(
    {
        "pulled",
        "changed",
        "deleted",
        "mapped",
        "status_changes",
        "writes_planned",
        "writes_made",
        "writes_failed",
    }
)


def start_run(
    session: Session, connector: str, kind: str, dry_run: bool, *, now: datetime | None = None
) -> int:
    """Record a run as started (status `running`); return its id.

    One sync per connector instance runs at a time (the daemon's lease; one process), so a
    run of this instance still `running` belongs to a process that died (kill -9, a crash,
    a machine gone): it is closed as `interrupted` first, not left `running` forever.
    """
    close_interrupted(session, connector, now=now)
    run = SyncRunRow(connector=connector, kind=kind, dry_run=dry_run, started_at=now_or(now))
    run.status = "running"
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    status: str,
    *,
    error: str | None = None,
    stats: dict[str, Any] | None = None,
    now: datetime | None = None,
    **counters: int,
) -> None:
    """Close a run with its status (`ok` or `failed`), counters, error and extra stats."""
    unknown = set(counters) - COUNTERS
    if unknown:
        raise TypeError(f"unknown run counters: {sorted(unknown)}")
    text = None if error is None else clean_text(error)  # errors quote what the tool sent
    values: dict[str, Any] = {"status": status, "finished_at": now_or(now), "error": text}
    values.update(counters)
    if stats is not None:
        values["stats"] = clean(stats)
    session.execute(update(SyncRunRow).where(SyncRunRow.id == run_id).values(values))


def last_runs(session: Session, kind: str | None = None) -> dict[str, SyncRunRow]:
    """Connector -> its most recent run (of `kind`, when given)."""
    latest = select(func.max(SyncRunRow.id)).group_by(SyncRunRow.connector)
    if kind is not None:
        latest = latest.where(SyncRunRow.kind == kind)
    runs = session.scalars(select(SyncRunRow).where(SyncRunRow.id.in_(latest)))
    return {run.connector: run for run in runs}


def close_interrupted(session: Session, connector: str, *, now: datetime | None = None) -> int:
    """Close every run of `connector` still marked `running` as `interrupted`; return how many.
    Only for a caller that knows no other run of the instance is alive (see `start_run`)."""
    stmt = (
        update(SyncRunRow)
        .where(SyncRunRow.connector == connector, SyncRunRow.status == "running")
        .values(
            status=INTERRUPTED,
            finished_at=now_or(now),
            error="the process running it stopped before it finished",
        )
    )
    return rowcount(session.execute(stmt))


def interrupt_runs(
    session: Session, run_ids: Sequence[int], reason: str, *, now: datetime | None = None
) -> None:
    """Mark finished runs as `interrupted` (a stop signal ended them early), with `reason`."""
    if run_ids:
        session.execute(
            update(SyncRunRow)
            .where(SyncRunRow.id.in_(list(run_ids)))
            .values(status=INTERRUPTED, error=clean_text(reason), finished_at=now_or(now))
        )
