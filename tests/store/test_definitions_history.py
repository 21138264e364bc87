"""OKR definitions mirrored from the config; check-ins and computed history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from store_builders import T0

from okrbridge.domain import (
    CheckIn,
    Forecast,
    Initiative,
    InitiativeResult,
    KeyResult,
    KeyResultLink,
    KeyResultResult,
    KRStatus,
    Objective,
    ObjectiveResult,
    TaskAggregate,
)
from okrbridge.store.db import Store
from okrbridge.store.models import (
    InitiativeHistoryRow,
    InitiativeKeyResultRow,
    InitiativeRow,
    KeyResultRow,
    ObjectiveRow,
)
from okrbridge.store.repos import (
    add_checkin,
    checkins,
    latest_statuses,
    record_evaluation,
    sync_definitions,
    value_history,
)


def _objective(oid: str, *kr_ids: str) -> Objective:
    return Objective(
        id=oid,
        title=f"Objective {oid}",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        key_results=[KeyResult(id=k, title=f"KR {k}", target=10) for k in kr_ids],
    )


def _initiative(iid: str, *links: tuple[str, float]) -> Initiative:
    return Initiative(
        id=iid,
        title=f"Initiative {iid}",
        key_results=[KeyResultLink(id=k, weight=w) for k, w in links],
    )


def test_definitions_follow_the_config(store: Store) -> None:
    with store.session() as session:
        sync_definitions(
            session,
            [_objective("o1", "kr1", "kr2"), _objective("o2", "kr3")],
            [_initiative("i1", ("kr1", 1.0), ("kr3", 2.0)), _initiative("i2", ("kr2", 1.0))],
        )
    with store.session() as session:
        sync_definitions(
            session,
            [_objective("o1", "kr2", "kr1")],
            [_initiative("i1", ("kr1", 3.0))],
        )
        objectives = dict(session.execute(select(ObjectiveRow.id, ObjectiveRow.active)).all())
        krs = {r.id: (r.active, r.position) for r in session.scalars(select(KeyResultRow))}
        initiatives = dict(session.execute(select(InitiativeRow.id, InitiativeRow.active)).all())
        links = session.execute(
            select(
                InitiativeKeyResultRow.initiative_id,
                InitiativeKeyResultRow.key_result_id,
                InitiativeKeyResultRow.weight,
            )
        ).all()
        kr1 = session.get(KeyResultRow, "kr1")
    assert objectives == {"o1": True, "o2": False}
    assert krs == {"kr1": (True, 1), "kr2": (True, 0), "kr3": (False, 0)}
    assert initiatives == {"i1": True, "i2": False}
    assert [tuple(link) for link in links] == [("i1", "kr1", 3.0)]
    assert kr1 is not None
    assert kr1.definition["target"] == 10


def test_links_to_unknown_key_results_are_refused(store: Store) -> None:
    with store.session() as session, pytest.raises(ValueError, match="krX"):
        sync_definitions(session, [_objective("o1", "kr1")], [_initiative("i1", ("krX", 1.0))])


def test_checkins_round_trip(store: Store) -> None:
    entries = [
        CheckIn(key_result_id="kr1", value=4.0, at=T0 + timedelta(days=1), note="late"),
        CheckIn(key_result_id="kr1", value=2.0, at=T0, confidence=KRStatus.OFF_TRACK),
        CheckIn(key_result_id="kr2", value=1.0, at=T0),
    ]
    with store.session() as session:
        for entry in entries:
            add_checkin(session, entry)
    with store.session() as session:
        every = checkins(session)
        one = checkins(session, "kr2")
    assert every == [entries[1], entries[2], entries[0]]
    assert one == [entries[2]]


def _kr(kr_id: str, value: float | None, status: KRStatus) -> KeyResultResult:
    return KeyResultResult(
        id=kr_id,
        objective_id="o1",
        title=kr_id,
        value=value,
        start=0,
        target=10,
        progress=0.5,
        expected_progress=0.6,
        status=status,
        reason=f"{kr_id} is {status.value}",
        forecast=Forecast(projected_value=9.0, target_date=None),
    )


def _evaluation(
    value: float | None, status: KRStatus
) -> tuple[list[ObjectiveResult], list[InitiativeResult]]:
    objective = ObjectiveResult(
        id="o1",
        title="o1",
        owner="",
        start=date(2026, 1, 1),
        end=date(2026, 3, 31),
        status=status,
        progress=0.5,
        reason="worst KR",
        key_results=(_kr("kr1", value, status), _kr("kr2", None, KRStatus.NOT_STARTED)),
    )
    initiative = InitiativeResult(
        id="i1",
        title="i1",
        progress=0.25,
        counts=TaskAggregate(todo=2, in_progress=1, done=1),
        task_count=4,
        reason="",
    )
    return [objective], [initiative]


def test_evaluations_build_value_history_and_latest_statuses(store: Store) -> None:
    with store.session() as session:
        record_evaluation(session, *_evaluation(3.0, KRStatus.ON_TRACK), 1, T0)
        record_evaluation(session, *_evaluation(5.0, KRStatus.OFF_TRACK), 2, T0 + timedelta(1))
    with store.session() as session:
        history = value_history(session)
        latest = latest_statuses(session)
        counts = session.execute(select(InitiativeHistoryRow.todo, InitiativeHistoryRow.done)).all()
    assert history == {"kr1": [(T0, 3.0), (T0 + timedelta(1), 5.0)]}
    assert latest["kr1"] == (KRStatus.OFF_TRACK, "kr1 is off_track", T0 + timedelta(1))
    assert latest["kr2"][0] is KRStatus.NOT_STARTED
    assert [tuple(c) for c in counts] == [(2, 1), (2, 1)]
