"""Status changes of key results, read from `key_result_history`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from okrbridge.domain import KRStatus
from okrbridge.store.models import KeyResultHistoryRow as H

__all__ = ["StatusChange", "status_changes", "value_points"]


@dataclass(frozen=True)
class StatusChange:
    """A key result moving from one status to another at an evaluation."""

    key_result_id: str
    at: datetime
    before: KRStatus | None
    """None for the key result's first evaluation ever."""
    after: KRStatus
    reason: str
    value: float | None


def status_changes(
    session: Session, since: datetime | None = None, key_result_id: str | None = None
) -> list[StatusChange]:
    """Status changes recorded at or after `since` (all time when None), oldest first.

    The last evaluation before `since` is read as the baseline, so a change right at the start
    of the window is seen, and a status that merely continues is not reported.
    """
    query = select(H.key_result_id, H.at, H.status, H.reason, H.value)
    if since is not None:
        query = query.where(or_(H.at >= since, H.id.in_(_baselines(since))))
    if key_result_id is not None:
        query = query.where(H.key_result_id == key_result_id)
    query = query.order_by(H.key_result_id, H.at, H.id)
    changes: list[StatusChange] = []
    seen: dict[str, KRStatus] = {}
    for kr_id, at, status_text, reason, value in session.execute(query):
        status = KRStatus(status_text)
        before = seen.get(kr_id)
        seen[kr_id] = status
        if before is status or (since is not None and at < since):
            continue
        changes.append(StatusChange(kr_id, at, before, status, reason, value))
    changes.sort(key=lambda change: (change.at, change.key_result_id))
    return changes


def _baselines(since: datetime) -> Select[tuple[int]]:
    """Ids of each key result's last history row before `since`."""
    ranked = (
        select(
            H.id,
            func.row_number()
            .over(partition_by=H.key_result_id, order_by=(H.at.desc(), H.id.desc()))
            .label("rank"),
        )
        .where(H.at < since)
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.rank == 1)


def value_points(session: Session, key_result_id: str) -> list[tuple[datetime, float]]:
    """One key result's recorded values, oldest first (evaluations without a value skipped)."""
    query = (
        select(H.at, H.value)
        .where(H.key_result_id == key_result_id, H.value.is_not(None))
        .order_by(H.at, H.id)
    )
    return [(at, value) for at, value in session.execute(query) if value is not None]
