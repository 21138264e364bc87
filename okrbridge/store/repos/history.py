"""Check-ins and the computed history of key results, initiatives and objectives."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Table, bindparam, func, insert, select, update
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
    """Record the key results, initiatives and objectives evaluated at `at`, thinned.

    The daemon evaluates on every push, minutes apart; the history keeps one row per item per
    UTC hour (the hour's last evaluation) and every change of status: an evaluation replaces
    the item's latest row when that row is from the same hour, has the same status, and does
    not itself mark a change of status (the row before it has that status too). So a status
    change keeps the moment it happened, and the evaluation after it starts the hour's row.
    """
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
    for table, owner, rows in (
        (KR_HISTORY, "key_result_id", kr_rows),
        (INITIATIVE_HISTORY, "initiative_id", initiative_rows),
        (OBJECTIVE_HISTORY, "objective_id", objective_rows),
    ):
        _record_thinned(session, table, owner, rows, at)


def _record_thinned(
    session: Session, table: Table, owner: str, rows: list[dict[str, Any]], at: datetime
) -> None:
    """Insert `rows`, or overwrite the owner's latest row where `record_evaluation` says so."""
    if not rows:
        return
    latest = _latest_two(session, table, owner, [row[owner] for row in rows])
    hour = _hour(at)
    replace: list[dict[str, Any]] = []
    insert_rows: list[dict[str, Any]] = []
    has_status = "status" in table.c
    for row in rows:
        previous = latest.get(row[owner], [])
        if (
            len(previous) == 2
            and _hour(previous[0].at) == hour
            and (not has_status or previous[0].status == row["status"] == previous[1].status)
        ):
            replace.append({"row_id": previous[0].id, **{f"new_{k}": v for k, v in row.items()}})
        else:
            insert_rows.append(row)
    if insert_rows:
        session.execute(insert(table), insert_rows)
    if replace:
        values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in rows[0]}
        statement = update(table).where(table.c.id == bindparam("row_id")).values(values)
        session.execute(statement, replace)


def _latest_two(
    session: Session, table: Table, owner: str, ids: list[str]
) -> dict[str, list[Row[Any]]]:
    """Owner id -> its latest two rows (id, at, status when the table has one), newest first."""
    column = table.c[owner]
    wanted = [table.c.id, column, table.c.at]
    if "status" in table.c:
        wanted.append(table.c.status)
    ranked = (
        select(
            *wanted,
            func.row_number()
            .over(partition_by=column, order_by=(table.c.at.desc(), table.c.id.desc()))
            .label("rank"),
        )
        .where(column.in_(ids))
        .subquery()
    )
    query = select(ranked).where(ranked.c.rank <= 2).order_by(ranked.c[owner], ranked.c.rank)
    latest: dict[str, list[Row[Any]]] = {}
    for row in session.execute(query):
        latest.setdefault(row._mapping[owner], []).append(row)
    return latest


def _hour(moment: datetime) -> datetime:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(minute=0, second=0, microsecond=0)


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
