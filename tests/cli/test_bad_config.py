"""A bad config names the file, the line and the key, exits 2 and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from okrbridge.cli import app
from okrbridge.config import render_starter_config

BROKEN = {
    "unknown key": ('title = "Reach 250k installs"', 'title = "Reach 250k installs"\n  taget = 3'),
    "end before start": ("end = 2026-12-31", "end = 2026-09-01"),
    "invalid TOML": ('owner = "Marketing"', 'owner = "Marketing'),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
@pytest.mark.parametrize(
    "command",
    [["config", "check"], ["checkin", "kr-installs", "3"], ["sync"], ["status"], ["db", "upgrade"]],
)
def test_bad_config_exits_2_and_writes_nothing(
    tmp_path: Path, name: str, command: list[str]
) -> None:
    old, new = BROKEN[name]
    text = render_starter_config()
    assert old in text
    config = tmp_path / "okrbridge.toml"
    config.write_text(text.replace(old, new, 1), encoding="utf-8")
    store = tmp_path / "store.sqlite3"
    result = CliRunner().invoke(
        app, [*command, "--config", str(config)], env={"OKRBRIDGE_STORE_URL": f"sqlite:///{store}"}
    )
    assert result.exit_code == 2, result.output
    assert str(config) in result.output
    assert not store.exists()


def test_missing_config_points_to_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OKRBRIDGE_CONFIG", raising=False)
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 2
    assert "okrbridge init" in result.output
