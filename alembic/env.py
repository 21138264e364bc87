"""Alembic environment of the okrbridge store.

`okrbridge.store.migrate.upgrade` passes an open connection in `config.attributes`. Run by hand
(`alembic` with a config naming this folder), the URL comes from `sqlalchemy.url`, else
`OKRBRIDGE_STORE_URL`, else the default SQLite file.
"""

from __future__ import annotations

import os

from sqlalchemy.engine import Connection

from alembic import context
from okrbridge.store.db import default_store_url, make_engine, normalize_url
from okrbridge.store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("OKRBRIDGE_STORE_URL")
        or default_store_url()
    )
    return normalize_url(url).render_as_string(hide_password=False)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_offline() -> None:
    """Print the SQL instead of running it."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as own_connection:
            _configure(own_connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
