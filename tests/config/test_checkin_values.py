"""`okrbridge checkin` takes finite numbers only: nan, inf and 1e309 are usage errors (exit 2)
that store nothing, where they once crashed or marked a key result achieved."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from okrbridge.cli import app
from okrbridge.config import render_starter_config


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    config = tmp_path / "okrbridge.toml"
    config.write_text(render_starter_config(), encoding="utf-8")
    store = tmp_path / "store.sqlite3"
    return config, {"OKRBRIDGE_STORE_URL": f"sqlite:///{store}"}, store


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e309", "-1e309"])
def test_a_non_finite_checkin_is_refused_and_stores_nothing(
    setup: tuple[Path, dict[str, str], Path], value: str
) -> None:
    config, env, store = setup
    result = CliRunner().invoke(
        app, ["checkin", "kr-installs", "--config", str(config), "--", value], env=env
    )
    assert result.exit_code == 2, result.output
    assert "must be a finite number" in result.output
    assert "Traceback" not in result.output
    assert not store.exists()


def test_a_finite_checkin_is_stored(setup: tuple[Path, dict[str, str], Path]) -> None:
    config, env, _ = setup
    result = CliRunner().invoke(
        app, ["checkin", "kr-installs", "1e6", "--config", str(config)], env=env
    )
    assert result.exit_code == 0, result.output
    status = CliRunner().invoke(app, ["status", "--json", "--config", str(config)], env=env)
    assert '"value": 1000000.0' in status.output
    # One check-in is one day of history: no forecast yet, and `status --json` says why.
    assert '"forecast": null' in status.output
    assert '"forecast_note": "not enough history yet (1 of 3 days)"' in status.output
