"""Check-ins and the computed history of key results, initiatives and objectives."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from okrbridge.domain import CheckIn, InitiativeResult, KRStatus, ObjectiveResult
from okrbridge.store.models import (
    CheckInRow,
    InitiativeHistoryRow,
    KeyResultHistoryRow,
    ObjectiveHistoryRow,
)

__all__ = ["add_checkin", "checkins", "latest_statuses", "record_evaluation", "value_history"]

CHECKINS: Table = CheckInRow.__table__  # type: ignore[assignment]
KR_HISTORY: Table = KeyResultHistoryRow.__table__  # type: ignore[assignment]
INITIATIVE_HISTORY: Table = InitiativeHistoryRow.__table__  # type: ignore[assignment]
OBJECTIVE_HISTORY: Table = ObjectiveHistoryRow.__table__  # type: ignore[assignment]


def add_checkin(session: Session, checkin: CheckIn) -> int:
    """Store a check-in; return its id."""
    confidence = None if checkin.confidence is None else KRStatus(checkin.confidence).value
    row = CheckInRow(
        key_result_id=checkin.key_result_id,
        value=checkin.value,
        at=checkin.at,
        confidence=confidence,
        note=checkin.note,
    )
    session.add(row)
    session.flush()
    return row.id


def checkins(session: Session, key_result_id: str | None = None) -> list[CheckIn]:
    """Check-ins, oldest first (all key results, or one)."""
    query = select(CHECKINS).order_by(CHECKINS.c.at, CHECKINS.c.id)
    if key_result_id is not None:
        query = query.where(CHECKINS.c.key_result_id == key_result_id)
    return [
        CheckIn(
            key_result_id=row.key_result_id,
            value=row.value,
            at=row.at,
            confidence=None if row.confidence is None else KRStatus(row.confidence),
            note=row.note,
        )
        for row in session.execute(query)
    ]


def record_evaluation(
    session: Session,
    objective_results: Sequence[ObjectiveResult],
    initiative_results: Sequence[InitiativeResult],
    run_id: int | None,
    at: datetime,
) -> None:
    """Append one history row per key result, initiative and objective evaluated at `at`."""
    kr_rows = [
        {
            "key_result_id": kr.id,
            "at": at,
            "value": kr.value,
            "progress": kr.progress,
            "expected_progress": kr.expected_progress,
            "status": KRStatus(kr.status).value,
            "reason": kr.reason,
            "forecast_value": None if kr.forecast is None else kr.forecast.projected_value,
            "forecast_date": None if kr.forecast is None else kr.forecast.target_date,
            "sync_run_id": run_id,
        }
        for objective in objective_results
        for kr in objective.key_results
    ]
    initiative_rows = [
        {
            "initiative_id": result.id,
            "at": at,
            "progress": result.progress,
            "todo": result.counts.todo,
            "in_progress": result.counts.in_progress,
            "done": result.counts.done,
        }
        for result in initiative_results
    ]
    objective_rows = [
        {
            "objective_id": o.id,
            "at": at,
            "progress": o.progress,
            "status": KRStatus(o.status).value,
            "reason": o.reason,
        }
        for o in objective_results
    ]
    for table, rows in (
        (KR_HISTORY, kr_rows),
        (INITIATIVE_HISTORY, initiative_rows),
        (OBJECTIVE_HISTORY, objective_rows),
    ):
        if rows:
            session.execute(insert(table), rows)


def value_history(session: Session) -> dict[str, list[tuple[datetime, float]]]:
    """Key result id -> its recorded values, oldest first (evaluations without a value skipped)."""
    query = (
        select(KR_HISTORY.c.key_result_id, KR_HISTORY.c.at, KR_HISTORY.c.value)
        .where(KR_HISTORY.c.value.is_not(None))
        .order_by(KR_HISTORY.c.key_result_id, KR_HISTORY.c.at, KR_HISTORY.c.id)
    )
    history: dict[str, list[tuple[datetime, float]]] = {}
    for kr_id, at, value in session.execute(query):
        history.setdefault(kr_id, []).append((at, value))
    return history


def latest_statuses(session: Session) -> dict[str, tuple[KRStatus, str, datetime]]:
    """Key result id -> (status, reason, time) of its most recent evaluation."""
    ranked = select(
        KR_HISTORY.c.key_result_id,
        KR_HISTORY.c.status,
        KR_HISTORY.c.reason,
        KR_HISTORY.c.at,
        func.row_number()
        .over(
            partition_by=KR_HISTORY.c.key_result_id,
            order_by=(KR_HISTORY.c.at.desc(), KR_HISTORY.c.id.desc()),
        )
        .label("rank"),
    ).subquery()
    query = select(ranked.c.key_result_id, ranked.c.status, ranked.c.reason, ranked.c.at).where(
        ranked.c.rank == 1
    )
    return {
        kr_id: (KRStatus(status), reason, at)
        for kr_id, status, reason, at in session.execute(query)
    }
