"""Schema migrations, run programmatically (there is no alembic.ini).

The migration scripts live in the repository's top-level `alembic/` folder; an installed wheel
carries them as `okrbridge/_migrations`. `upgrade` is safe to call from several processes at
once: PostgreSQL serializes it with an advisory lock, SQLite with its database write lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from alembic import command
from okrbridge.store.db import Store, StoreError

__all__ = ["current_revision", "head_revision", "is_current", "migrations_dir", "upgrade"]

_PG_LOCK = "SELECT pg_advisory_xact_lock(hashtext('okrbridge-migrate:' || current_schema()))"
"""Serializes upgrades of one schema across processes on PostgreSQL (other schemas of the
same database, e.g. parallel test schemas, migrate independently)."""


def migrations_dir() -> Path:
    """Folder of the Alembic environment: in the installed package, else the source checkout."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_migrations"
    if (installed / "env.py").is_file():
        return installed
    checkout = package.parent / "alembic"
    if (checkout / "env.py").is_file():
        return checkout
    raise StoreError(f"migration scripts not found in {installed} or {checkout}")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the scripts define."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise StoreError("no migration scripts found")
    return head


def current_revision(store: Store) -> str | None:
    """The revision the database is at (None for an empty database)."""
    try:
        with store.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except DBAPIError as exc:
        raise StoreError(f"cannot read schema version of {store.redacted_url}: {exc.orig}") from exc


def is_current(store: Store) -> bool:
    """True when the database is at the head revision."""
    return current_revision(store) == head_revision()


def upgrade(store: Store) -> list[str]:
    """Apply the pending migrations; return the applied revision ids, oldest first."""
    store.ping()
    scripts = ScriptDirectory.from_config(_config())
    with store.engine.connect() as connection, _upgrade_lock(connection):
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(_config(connection), "head")
        after = MigrationContext.configure(connection).get_current_revision()
        connection.commit()
    if before == after or after is None:
        return []
    applied = [script.revision for script in scripts.iterate_revisions(after, before)]
    return list(reversed(applied))


@contextmanager
def _upgrade_lock(connection: Connection) -> Iterator[None]:
    """Hold a lock that keeps other processes from migrating at the same time.

    The lock is taken inside the transaction the migrations then run in, so a second process
    reads the schema version only after the first one committed, and finds nothing to do.
    """
    if connection.dialect.name == "postgresql":
        # Transaction-level lock: released by the commit (or rollback) that ends the upgrade.
        connection.exec_driver_sql(_PG_LOCK)
    elif connection.dialect.name == "sqlite":
        # pysqlite begins transactions lazily; take the write lock now, waiting busy_timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.rollback()
        raise
