"""`okrbridge report`: options, formats, output file and usage errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from okrbridge.cli.app import app
from okrbridge.cli.report import parse_since
from okrbridge.config import load_config
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import CheckIn
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.store.repos import add_checkin
from okrbridge.sync.compute import compute
from tests.dashboard.html import Page


def write_config(directory: Path, store_url: str, today: datetime) -> Path:
    start, end = (today - timedelta(days=30)).date(), (today + timedelta(days=60)).date()
    path = directory / "okrbridge.toml"
    path.write_text(
        f"""
[store]
url = "{store_url}"

[[objectives]]
id = "ship"
title = "Ship the <beta> launch"
start = {start.isoformat()}
end = {end.isoformat()}

[[objectives.key_results]]
id = "kr-signups"
title = "Beta signups"
start = 0
target = 1000
unit = "signups"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A config and a store with two evaluations: on track 20 days ago, behind 3 days ago."""
    now = datetime.now(UTC)
    url = f"sqlite:///{tmp_path / 'report.sqlite3'}"
    path = write_config(tmp_path, url, now)
    config = load_config(path, env={}, registry=ConnectorRegistry()).config
    store = Store(url)
    upgrade(store)
    for days, value in ((20, 100.0), (3, 150.0)):
        with store.session() as session:
            add_checkin(
                session,
                CheckIn(key_result_id="kr-signups", value=value, at=now - timedelta(days=days)),
            )
        compute(store, config, now=now - timedelta(days=days), record=True)
    store.dispose()
    return path, {"OKRBRIDGE_CONFIG": "", "OKRBRIDGE_STORE_URL": "", "COLUMNS": "200"}


def test_markdown_to_stdout_by_default(setup: tuple[Path, dict[str, str]]) -> None:
    path, env = setup
    result = CliRunner().invoke(app, ["report", "--config", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# OKR update, ")
    assert "**Beta signups** (Ship the \\<beta> launch): On track → **Needs attention**" in (
        result.stdout
    )
    assert "150 signups of target 1,000 signups" in result.stdout


def test_html_to_a_file(setup: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    path, env = setup
    out = tmp_path / "update.html"
    args = ["report", "--config", str(path), "--format", "html", "--out", str(out)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    page = Page(out.read_text(encoding="utf-8"))
    assert page.one("title").text.startswith("OKR update, ")
    assert "Beta signups Ship the <beta> launch On track Needs attention" in page.text


def test_a_short_window_has_no_changes(setup: tuple[Path, dict[str, str]]) -> None:
    path, env = setup
    result = CliRunner().invoke(app, ["report", "-c", str(path), "--since", "1d"], env=env)
    assert result.exit_code == 0, result.output
    assert "No status changed in this period." in result.stdout


@pytest.mark.parametrize(
    ("option", "message"),
    [(["--format", "pdf"], "--format must be one of md, html"), (["--since", "lately"], "lately")],
)
def test_usage_errors_exit_2(
    setup: tuple[Path, dict[str, str]], option: list[str], message: str
) -> None:
    path, env = setup
    result = CliRunner().invoke(app, ["report", "-c", str(path), *option], env=env)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_since_accepts_durations_and_dates() -> None:
    now = datetime(2026, 11, 15, 12, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("36h", now) == now - timedelta(hours=36)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-11-01T08:00:00+01:00", now) == datetime(2026, 11, 1, 7, tzinfo=UTC)
    with pytest.raises(ValueError, match="neither a duration"):
        parse_since("last week", now)


def test_all_lists_every_problem_task(setup: tuple[Path, dict[str, str]]) -> None:
    path, env = setup
    capped = CliRunner().invoke(app, ["report", "--config", str(path)], env=env)
    every = CliRunner().invoke(app, ["report", "--config", str(path), "--all"], env=env)
    assert every.exit_code == 0, every.output
    # Under the default cap of 20 tasks per key result both list the same problems.
    assert every.stdout.count("\n- ") == capped.stdout.count("\n- ")
    assert "more (`okrbridge report --all`" not in every.stdout
