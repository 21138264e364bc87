"""Engine and session setup for the store: SQLite by default, PostgreSQL for teams.

`Store` owns one engine and a session factory. URLs are only ever shown redacted (the password
masked), so a store error can be logged or printed as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "Store",
    "StoreError",
    "default_store_url",
    "make_engine",
    "normalize_url",
    "redact_url",
]

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another process's write lock before failing."""


class StoreError(Exception):
    """The store cannot be used: bad URL, unreachable database, missing driver."""


def default_store_url() -> str:
    """SQLite file `okrbridge.sqlite3` in the user data directory (created on demand)."""
    directory = Path(platformdirs.user_data_dir("okrbridge"))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'okrbridge.sqlite3'}"


def normalize_url(url: str | URL) -> URL:
    """Parse `url`, sending `postgres://` and `postgresql://` to the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # The message of ArgumentError repeats the URL, which may hold a password.
        raise StoreError(
            f"store URL {_mask_unparsed(str(url))} is not a valid URL "
            "(expected e.g. sqlite:///path/to/file.db or postgresql://user@host/db)"
        ) from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def redact_url(url: str | URL) -> str:
    """The URL with its password replaced by `***`, safe for logs and errors."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return _mask_unparsed(str(url))
    return parsed.render_as_string(hide_password=True)


def _mask_unparsed(url: str) -> str:
    """Show an unparseable URL by its scheme only: the rest may hold a password."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://..." if sep and scheme.replace("+", "").isalnum() else "<unparseable>"


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine for `url` with the store's connection settings.

    SQLite gets WAL journaling, enforced foreign keys and a busy timeout on every connection;
    PostgreSQL goes through psycopg 3 with pre-ping so dropped connections are replaced.
    """
    parsed = normalize_url(url)
    options: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    elif parsed.get_backend_name() == "postgresql":
        # No server-side prepared statements: psycopg would prepare a repeated statement with
        # a generic plan made while the table was small (a seq scan), and keep it after the
        # table grew: re-upserting 100k tasks went from seconds to minutes.
        options["connect_args"] = {"prepare_threshold": None}
    options.update(kwargs)
    try:
        engine = create_engine(parsed, **options)
    except ImportError as exc:
        if parsed.get_backend_name() == "postgresql":
            raise StoreError(
                f"cannot use store {redact_url(parsed)}: the PostgreSQL driver (psycopg) is not "
                "installed; install it with: pip install 'okrbridge[postgres]'"
            ) from exc
        raise StoreError(f"cannot use store {redact_url(parsed)}: {exc}") from exc
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StoreError(f"cannot use store {redact_url(parsed)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers (dashboard, CLI) work while the daemon writes; NORMAL sync is
        # durable across process crashes in WAL mode, which is the failure we guard against.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


class Store:
    """The store: an engine plus a session factory.

    Use `with store.session() as session:`; the block commits when it ends normally and rolls
    back when it raises.
    """

    def __init__(self, url: str | URL | None = None, *, engine: Engine | None = None) -> None:
        if engine is None:
            engine = make_engine(url if url is not None else default_store_url())
        self.engine = engine
        self.sessions = sessionmaker(bind=engine, expire_on_commit=False)

    @property
    def url(self) -> URL:
        return self.engine.url

    @property
    def redacted_url(self) -> str:
        """The store URL with its password masked."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        """Check that the database answers; raise `StoreError` saying which and why if not."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreError(f"cannot reach store {self.redacted_url}: {reason}") from exc

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.redacted_url!r})"
