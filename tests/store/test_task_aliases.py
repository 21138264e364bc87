"""Container aliases are stored with the task (migration 0005) and come back on load."""

from __future__ import annotations

from sqlalchemy import text

from alembic import command
from okrbridge.domain import Task
from okrbridge.store.db import Store
from okrbridge.store.migrate import _config, upgrade
from okrbridge.store.repos import load_tasks, upsert_tasks

CARD = Task(
    connector="trello",
    external_id="c1",
    key="c1",
    container="Xy12AbCd",
    container_aliases=("5f2b7c9e1a2b3c4d5e6f7a8b",),
)


def test_aliases_round_trip_and_a_change_of_them_rewrites_the_row(store: Store) -> None:
    with store.session() as session:
        assert upsert_tasks(session, [CARD], None).inserted == 1
    with store.session() as session:
        [loaded] = load_tasks(session)
        assert loaded.container_aliases == CARD.container_aliases
        again = upsert_tasks(session, [CARD], None)
        changed = upsert_tasks(session, [CARD.model_copy(update={"container_aliases": ()})], None)
    assert (again.unchanged, changed.updated) == (1, 1)
    with store.session() as session:
        assert load_tasks(session)[0].container_aliases == ()


def test_rows_stored_before_0005_load_with_no_aliases(db_url: str) -> None:
    store = Store(db_url)
    with store.engine.connect() as connection:
        config = _config(connection)
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO tasks (connector, external_id, key, url, title, container, "
                "status_name, status_category, excluded, labels, assignees, fields, deleted, "
                "raw, first_seen_at, last_seen_at) VALUES ('jira', '1', 'MKT-1', '', 'Old', "
                "'MKT', '', 'todo', false, '[]', '[]', '{}', false, '{}', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        connection.commit()
    assert "0005" in upgrade(store)
    with store.session() as session:
        [old] = load_tasks(session)
    assert (old.key, old.container_aliases) == ("MKT-1", ())
    store.dispose()
