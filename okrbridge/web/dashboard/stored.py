"""The last evaluation a sync recorded, read back for the dashboard without loading a task.

Every recording compute writes each configured objective and key result to the history
tables (`store.repos.history.record_evaluation`), so an item's newest row holds its figures at
the last evaluation; initiatives come from the stored tallies that evaluation was made from.
Each item costs one indexed lookup, whatever the number of tasks; the engine does not run.
An item the config gained since (or a store never synced) shows as not evaluated yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, Table, func, select
from sqlalchemy.orm import Session

from okrbridge.config.schema import Config
from okrbridge.domain import (
    Forecast,
    Initiative,
    InitiativeResult,
    KeyResult,
    KeyResultResult,
    KeyResultSource,
    KRStatus,
    Objective,
    ObjectiveResult,
)
from okrbridge.engine.progress import TaskTally, tallied_progress
from okrbridge.engine.tallies import settled, task_count
from okrbridge.store.models import (
    KeyResultHistoryRow,
    KeyResultRow,
    ObjectiveHistoryRow,
    ObjectiveRow,
    TallyStateRow,
)
from okrbridge.store.repos.tallies import TALLY_STATE, load_tallies

__all__ = [
    "NOT_EVALUATED",
    "Marker",
    "StoredEvaluation",
    "evaluation_marker",
    "load_stored_evaluation",
]

KR_HISTORY: Table = KeyResultHistoryRow.__table__  # type: ignore[assignment]
OBJECTIVE_HISTORY: Table = ObjectiveHistoryRow.__table__  # type: ignore[assignment]
KEY_RESULTS: Table = KeyResultRow.__table__  # type: ignore[assignment]
OBJECTIVES: Table = ObjectiveRow.__table__  # type: ignore[assignment]
STATE: Table = TallyStateRow.__table__  # type: ignore[assignment]

NOT_EVALUATED = "not evaluated yet: the next sync evaluates it"
"""The reason shown for an item no recorded evaluation covers."""
_PER_STATEMENT = 100
"""Items looked up per statement (SQLite allows 500 terms in a compound select)."""

Marker = tuple[datetime | None, int | None]
"""`(newest evaluation moment, tally change number)`: differs after every recorded evaluation
that could show something else."""


@dataclass(frozen=True)
class StoredEvaluation:
    """The configured OKRs with the figures of the last recorded evaluation."""

    at: datetime | None
    """When that evaluation ran (None: never; every item is then not evaluated yet)."""
    objectives: tuple[ObjectiveResult, ...]
    initiatives: dict[str, InitiativeResult]
    key_results: dict[str, KeyResultResult]
    counting: frozenset[str]
    """Ids of the key results that count tasks themselves (`source = "tasks"`)."""


def evaluation_marker(session: Session, config: Config) -> Marker:
    """Cheap to read (one index lookup per objective, one primary-key lookup)."""
    at = _newest_at(session, [objective.id for objective in config.objectives])
    seq = session.scalar(select(STATE.c.seq).where(STATE.c.name == TALLY_STATE))
    return at, None if seq is None else int(seq)


def _newest_at(session: Session, objective_ids: Sequence[str]) -> datetime | None:
    # Each evaluation writes (or overwrites) every configured objective's newest row.
    found: list[datetime] = []
    for start in range(0, len(objective_ids), _PER_STATEMENT):
        chunk = objective_ids[start : start + _PER_STATEMENT]
        newest = [
            select(func.max(OBJECTIVE_HISTORY.c.at))
            .where(OBJECTIVE_HISTORY.c.objective_id == objective_id)
            .scalar_subquery()
            for objective_id in chunk
        ]
        row = session.execute(select(*newest)).one()
        found += [at for at in row if at is not None]
    return max(found, default=None)


def load_stored_evaluation(session: Session, config: Config) -> StoredEvaluation:
    """The configured objectives, key results and initiatives as last recorded."""
    objective_rows = _newest_rows(
        session, OBJECTIVE_HISTORY, "objective_id", OBJECTIVES, [o.id for o in config.objectives]
    )
    kr_ids = [kr.id for objective in config.objectives for kr in objective.key_results]
    kr_rows = _newest_rows(session, KR_HISTORY, "key_result_id", KEY_RESULTS, kr_ids)
    tallies = load_tallies(session)
    links: dict[str, list[str]] = {}
    for initiative in config.initiatives:
        for link in initiative.key_results:
            links.setdefault(link.id, []).append(initiative.id)
    objectives = tuple(
        _objective(o, objective_rows.get(o.id), kr_rows, links) for o in config.objectives
    )
    return StoredEvaluation(
        at=max((row.at for row in objective_rows.values()), default=None),
        objectives=objectives,
        initiatives={
            i.id: _initiative(i, tallies.get(("initiative", i.id))) for i in config.initiatives
        },
        key_results={kr.id: kr for objective in objectives for kr in objective.key_results},
        counting=frozenset(
            kr.id
            for objective in config.objectives
            for kr in objective.key_results
            if kr.source is KeyResultSource.TASKS
        ),
    )


def _newest_rows(
    session: Session, history: Table, owner: str, definitions: Table, ids: Sequence[str]
) -> dict[str, Row[Any]]:
    """Owner id -> its newest history row, for the `ids` the definitions table knows."""
    newest = (
        select(history.c.id)
        .where(history.c[owner] == definitions.c.id)
        .order_by(history.c.at.desc(), history.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    found: dict[str, Row[Any]] = {}
    for start in range(0, len(ids), _PER_STATEMENT):
        wanted = select(newest).where(definitions.c.id.in_(ids[start : start + _PER_STATEMENT]))
        for row in session.execute(select(history).where(history.c.id.in_(wanted))):
            found[row._mapping[owner]] = row
    return found


def _objective(
    objective: Objective,
    row: Row[Any] | None,
    kr_rows: dict[str, Row[Any]],
    links: dict[str, list[str]],
) -> ObjectiveResult:
    key_results = tuple(
        _key_result(kr, objective.id, kr_rows.get(kr.id), tuple(links.get(kr.id, ())))
        for kr in objective.key_results
    )
    return ObjectiveResult(
        id=objective.id,
        title=objective.title,
        owner=objective.owner,
        start=objective.start,
        end=objective.end,
        status=KRStatus.NOT_STARTED if row is None else KRStatus(row.status),
        progress=0.0 if row is None else row.progress,
        reason=NOT_EVALUATED if row is None else row.reason,
        key_results=key_results,
    )


def _key_result(
    kr: KeyResult, objective_id: str, row: Row[Any] | None, initiative_ids: tuple[str, ...]
) -> KeyResultResult:
    common: dict[str, Any] = {
        "id": kr.id,
        "objective_id": objective_id,
        "title": kr.title,
        "start": kr.start,
        "target": kr.target,
        "unit": kr.unit,
        "metric": kr.metric,
        "initiative_ids": initiative_ids,
    }
    if row is None:
        return KeyResultResult(
            **common,
            value=None,
            progress=0.0,
            expected_progress=0.0,
            status=KRStatus.NOT_STARTED,
            reason=NOT_EVALUATED,
        )
    return KeyResultResult(
        **common,
        value=row.value,
        progress=row.progress,
        expected_progress=row.expected_progress,
        status=KRStatus(row.status),
        reason=row.reason,
        forecast=_forecast(row.forecast_value, row.forecast_date),
    )


def _forecast(value: float | None, target_date: date | None) -> Forecast | None:
    return None if value is None else Forecast(projected_value=value, target_date=target_date)


def _initiative(initiative: Initiative, tallied: TaskTally | None) -> InitiativeResult:
    """As the sync evaluated it: from the tally it kept of the initiative's tasks."""
    tallied = settled(tallied or TaskTally())
    return tallied_progress(initiative, tallied, task_count(tallied))
