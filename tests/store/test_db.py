"""Engine setup: URLs, redaction, SQLite settings, errors that say which store and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from okrbridge.store.db import Store, StoreError, default_store_url, normalize_url, redact_url
from okrbridge.store.models import CheckInRow


def test_postgres_urls_use_psycopg3() -> None:
    for url in ("postgres://u:pw@db/x", "postgresql://u:pw@db/x"):
        assert normalize_url(url).drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg://u@db/x").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_redacted_url_hides_the_password() -> None:
    assert "s3cret" not in redact_url("postgresql://bob:s3cret@db:5432/okr")
    assert "bob" in redact_url("postgresql://bob:s3cret@db:5432/okr")
    store = Store("postgresql://bob:s3cret@127.0.0.1:9/okr")
    assert "s3cret" not in store.redacted_url
    assert "s3cret" not in repr(store)


def test_invalid_url_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        Store("not a url with pw:s3cret@host")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(StoreError, match="nosuchdb"):
        Store("nosuchdb://user@host/db")


def test_unreachable_database_names_the_redacted_url() -> None:
    store = Store("postgresql://bob:s3cret@127.0.0.1:9/okr")
    with pytest.raises(StoreError) as caught:
        store.ping()
    message = str(caught.value)
    assert "127.0.0.1:9" in message
    assert "s3cret" not in message


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_default_url_is_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "data" / "okrbridge"
    monkeypatch.setattr("platformdirs.user_data_dir", lambda name: str(target))
    url = default_store_url()
    assert url == f"sqlite:///{target / 'okrbridge.sqlite3'}"
    assert target.is_dir()


def test_session_commits_on_success_and_rolls_back_on_error(store: Store) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with store.session() as session:
        session.add(CheckInRow(key_result_id="kr1", value=1.0, at=at, note=""))

    def fail_mid_transaction() -> None:
        with store.session() as session:
            session.add(CheckInRow(key_result_id="kr2", value=2.0, at=at, note=""))
            session.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_mid_transaction()
    with store.session() as session:
        assert session.scalars(select(CheckInRow.key_result_id)).all() == ["kr1"]


def test_timestamps_round_trip_as_aware_utc(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    written = datetime(2026, 7, 1, 14, 5, 6, 789012, tzinfo=plus_two)
    with store.session() as session:
        session.add(CheckInRow(key_result_id="kr", value=1.0, at=written, note=""))
    with store.session() as session:
        read = session.scalars(select(CheckInRow.at)).one()
        assert read == written
        assert read.utcoffset() == timedelta(0)
        assert read.hour == 12


def test_naive_timestamps_are_refused(store: Store) -> None:
    def add_naive() -> None:
        with store.session() as session:
            session.add(CheckInRow(key_result_id="kr", value=1.0, at=datetime(2026, 1, 1), note=""))

    with pytest.raises(StatementError, match="naive"):
        add_naive()
