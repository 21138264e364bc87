"""OKR definitions mirrored from the config, which is the source of truth.

Rows that left the config stay (their history is kept) but become inactive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, delete, insert, update
from sqlalchemy.orm import Session

from okrbridge.domain import Initiative, Objective
from okrbridge.store.models import (
    InitiativeKeyResultRow,
    InitiativeRow,
    KeyResultRow,
    ObjectiveRow,
)
from okrbridge.store.repos._sql import upsert_insert

__all__ = ["sync_definitions"]

OBJECTIVES: Table = ObjectiveRow.__table__  # type: ignore[assignment]
KEY_RESULTS: Table = KeyResultRow.__table__  # type: ignore[assignment]
INITIATIVES: Table = InitiativeRow.__table__  # type: ignore[assignment]
LINKS: Table = InitiativeKeyResultRow.__table__  # type: ignore[assignment]


def sync_definitions(
    session: Session, objectives: Sequence[Objective], initiatives: Sequence[Initiative]
) -> None:
    """Upsert objectives, key results, initiatives and their links from the config."""
    objective_rows: list[dict[str, Any]] = [
        {
            "id": o.id,
            "title": o.title,
            "owner": o.owner,
            "start": o.start,
            "end": o.end,
            "definition": o.model_dump(mode="json", exclude={"key_results"}),
            "active": True,
        }
        for o in objectives
    ]
    kr_rows: list[dict[str, Any]] = [
        {
            "id": kr.id,
            "objective_id": o.id,
            "position": position,
            "title": kr.title,
            "definition": kr.model_dump(mode="json"),
            "active": True,
        }
        for o in objectives
        for position, kr in enumerate(o.key_results)
    ]
    initiative_rows: list[dict[str, Any]] = [
        {"id": i.id, "title": i.title, "definition": i.model_dump(mode="json"), "active": True}
        for i in initiatives
    ]
    tables: list[tuple[Table, list[dict[str, Any]]]] = [
        (OBJECTIVES, objective_rows),
        (KEY_RESULTS, kr_rows),
        (INITIATIVES, initiative_rows),
    ]
    for table, rows in tables:
        _upsert(session, table, rows)
        _deactivate_absent(session, table, {row["id"] for row in rows})
    _replace_links(session, initiatives, {row["id"] for row in kr_rows})


def _upsert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = upsert_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={name: stmt.excluded[name] for name in rows[0] if name != "id"},
    )
    session.execute(stmt, rows)


def _deactivate_absent(session: Session, table: Table, present: set[str]) -> None:
    # Definitions number in the tens or hundreds: one NOT IN list is fine.
    session.execute(
        update(table)
        .where(table.c.active.is_(True), table.c.id.not_in(sorted(present)))
        .values(active=False)
    )


def _replace_links(
    session: Session, initiatives: Sequence[Initiative], key_result_ids: set[str]
) -> None:
    links = {
        (initiative.id, link.id): link.weight
        for initiative in initiatives
        for link in initiative.key_results
    }
    unknown = sorted({kr for _, kr in links if kr not in key_result_ids})
    if unknown:
        raise ValueError(f"initiatives link to key results not in the config: {unknown}")
    session.execute(delete(LINKS))
    if links:
        session.execute(
            insert(LINKS),
            [
                {"initiative_id": initiative, "key_result_id": kr, "weight": weight}
                for (initiative, kr), weight in links.items()
            ],
        )
