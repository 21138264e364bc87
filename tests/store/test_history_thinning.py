"""The history keeps one row per key result per hour and every status change, not every push."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from store_builders import T0

from okrbridge.domain import (
    InitiativeResult,
    KeyResultResult,
    KRStatus,
    ObjectiveResult,
    TaskAggregate,
)
from okrbridge.store.db import Store
from okrbridge.store.models import InitiativeHistoryRow, KeyResultHistoryRow, ObjectiveHistoryRow
from okrbridge.store.repos import latest_statuses, record_evaluation, value_history

HOUR = T0.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def _record(store: Store, at: datetime, value: float, status: KRStatus, done: int = 0) -> None:
    kr = KeyResultResult(
        id="kr1",
        objective_id="o1",
        title="kr1",
        value=value,
        start=0,
        target=10,
        progress=value / 10,
        expected_progress=0.5,
        status=status,
        reason=f"at {value}",
    )
    objective = ObjectiveResult(
        id="o1",
        title="o1",
        owner="",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        status=status,
        progress=value / 10,
        reason="worst",
        key_results=(kr,),
    )
    initiative = InitiativeResult(
        id="i1",
        title="i1",
        progress=done / 10,
        counts=TaskAggregate(todo=10 - done, done=done),
        task_count=10,
        reason="",
    )
    with store.session() as session:
        record_evaluation(session, [objective], [initiative], None, at)


def _kr_rows(store: Store) -> list[tuple[datetime, float, str]]:
    query = select(
        KeyResultHistoryRow.at, KeyResultHistoryRow.value, KeyResultHistoryRow.status
    ).order_by(KeyResultHistoryRow.at, KeyResultHistoryRow.id)
    with store.session() as session:
        return [(at, value, status) for at, value, status in session.execute(query)]


def test_pushes_minutes_apart_keep_one_row_per_hour_the_last_of_it(store: Store) -> None:
    # A daemon pushing every 5 minutes for three hours, the value creeping up.
    for step in range(36):
        _record(store, HOUR + timedelta(minutes=5 * step), step / 10, KRStatus.ON_TRACK, step)
    rows = _kr_rows(store)
    # The first evaluation, then one row per hour holding that hour's last evaluation.
    assert [(at - HOUR, value) for at, value, _ in rows] == [
        (timedelta(0), 0.0),
        (timedelta(minutes=55), 1.1),
        (timedelta(hours=1, minutes=55), 2.3),
        (timedelta(hours=2, minutes=55), 3.5),
    ]
    with store.session() as session:
        initiatives = session.execute(select(InitiativeHistoryRow.done)).scalars().all()
        objectives = session.execute(select(ObjectiveHistoryRow.id)).scalars().all()
        history = value_history(session)
    assert sorted(initiatives) == [0, 11, 23, 35]
    assert len(objectives) == 4
    assert [value for _, value in history["kr1"]] == [0.0, 1.1, 2.3, 3.5]


def test_every_status_change_keeps_its_moment(store: Store) -> None:
    statuses = [
        KRStatus.ON_TRACK,
        KRStatus.ON_TRACK,
        KRStatus.NEEDS_ATTENTION,  # minute 10: a change
        KRStatus.NEEDS_ATTENTION,
        KRStatus.NEEDS_ATTENTION,
        KRStatus.ON_TRACK,  # minute 25: back
        KRStatus.ON_TRACK,
    ]
    for step, status in enumerate(statuses):
        _record(store, HOUR + timedelta(minutes=5 * step), float(step), status)
    rows = _kr_rows(store)
    changes = [
        (at - HOUR, status)
        for (at, _, status), before in zip(rows, [None, *rows], strict=False)
        if before is None or before[2] != status
    ]
    assert changes == [
        (timedelta(0), "on_track"),
        (timedelta(minutes=10), "needs_attention"),
        (timedelta(minutes=25), "on_track"),
    ]
    assert len(rows) <= 2 * len(changes)
    assert rows[-1][1] == 6.0  # the last evaluation is kept
    with store.session() as session:
        assert latest_statuses(session)["kr1"][0] is KRStatus.ON_TRACK
