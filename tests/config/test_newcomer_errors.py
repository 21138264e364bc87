"""Errors a newcomer meets first say what to write: a date in TOML, the PostgreSQL driver."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from okrbridge.cli import app
from okrbridge.config import render_starter_config
from okrbridge.store.db import Store, StoreError
from tests.config.conftest import Loader
from tests.config.helpers import BASE, edit, problems_of


@pytest.mark.parametrize("written", ["2026-10-1", "2026/10/01", "01.10.2026", "2026-02-30"])
def test_a_toml_error_near_a_date_says_how_dates_are_written(load: Loader, written: str) -> None:
    text = edit(BASE, "start = 2026-10-01", f"start = {written}")
    [problem] = problems_of(load, text)
    assert problem.message.startswith("invalid TOML: ")
    assert "dates are written YYYY-MM-DD" in problem.message
    assert problem.line == text.splitlines().index(f"start = {written}") + 1


def test_other_toml_errors_get_no_date_hint(load: Loader) -> None:
    text = edit(BASE, 'label_prefix = "okr:"', 'label_prefix = "okr:')
    [problem] = problems_of(load, text)
    assert "dates are written" not in problem.message


def test_a_postgresql_url_without_the_driver_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    with pytest.raises(StoreError) as caught:
        Store("postgresql://okr:hunter2@db.example.com:5432/okr")
    message = str(caught.value)
    assert "pip install 'okrbridge[postgres]'" in message
    assert "hunter2" not in message


def test_the_cli_prints_that_hint_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    config = tmp_path / "okrbridge.toml"
    config.write_text(render_starter_config(), encoding="utf-8")
    env = {"OKRBRIDGE_STORE_URL": "postgresql://okr@db.example.com/okr"}
    result = CliRunner().invoke(app, ["db", "upgrade", "--config", str(config)], env=env)
    assert result.exit_code == 1, result.output
    assert "pip install 'okrbridge[postgres]'" in result.output
    assert "Traceback" not in result.output
