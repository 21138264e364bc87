"""Runtime failures through the real CLI: one or two lines naming the connector, the address,
the cause and the fix; a traceback only with --debug."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.cli.conftest import Sims, run_cli


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _point_jira_at(sims: Sims, url: str) -> None:
    text = sims.config.read_text(encoding="utf-8")
    sims.config.write_text(text.replace(sims.urls["jira-mkt"], url), encoding="utf-8")


def test_closed_port_fails_fast_naming_the_address(sims: Sims) -> None:
    address = f"http://127.0.0.1:{_closed_port()}"
    _point_jira_at(sims, address)
    # The bound asked for: well under the minutes a 5-attempt backoff took (generous timeout).
    result = sims.run("sync", "--connector", "jira-mkt", timeout=10)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert f"cannot connect to {address} (connection refused)" in output
    assert "base_url" in output
    assert "[connectors.jira-mkt]" in output


def test_wrong_token_prints_the_hint_without_a_traceback(sims: Sims) -> None:
    sims.env["JIRA_API_TOKEN"] = "not-the-token"
    result = sims.run("sync")
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    failed = [line for line in output.splitlines() if "jira-mkt failed" in line]
    assert len(failed) == 1
    assert "HTTP 401" in failed[0]
    assert "JIRA_API_TOKEN" in failed[0]
    assert sims.urls["jira-mkt"] in failed[0]
    assert "not-the-token" not in output
    # The other connectors went on.
    assert sims.tools["github-game"].write_count() > 0


def test_debug_shows_the_traceback(sims: Sims) -> None:
    sims.env["JIRA_API_TOKEN"] = "not-the-token"
    result = sims.run("sync", "--connector", "jira-mkt")
    assert "Traceback" not in result.stderr
    assert "Traceback" in sims.run("--debug", "sync", "--connector", "jira-mkt").stderr
    sims.env["OKRBRIDGE_DEBUG"] = "1"
    assert "Traceback" in sims.run("sync", "--connector", "jira-mkt").stderr


def test_one_connector_needs_only_its_own_secrets(sims: Sims) -> None:
    for name in ("OKRBRIDGE_SIM_GITHUB_TOKEN", "TRELLO_TOKEN"):
        sims.env.pop(name)
    result = sims.run("sync", "--connector", "jira-mkt")
    assert result.returncode == 0, result.stderr
    assert sims.tools["jira-mkt"].write_count() > 0
    refused = sims.run("sync", "--connector", "trello-launch")
    assert refused.returncode == 2
    assert "TRELLO_TOKEN" in refused.stderr
    assert "OKRBRIDGE_SIM_GITHUB_TOKEN" not in refused.stderr


def test_init_creates_missing_folders(tmp_path: Path, clean_env: dict[str, str]) -> None:
    result = run_cli(tmp_path, clean_env, "init", "nodir/deeper/x.toml")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "nodir" / "deeper" / "x.toml").read_text(encoding="utf-8").strip()


def test_db_upgrade_without_a_config_migrates_the_default_store(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    first = run_cli(tmp_path, clean_env, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "applied" in first.stdout
    assert list((tmp_path / "home").rglob("okrbridge.sqlite3"))
    again = run_cli(tmp_path, clean_env, "db", "upgrade")
    assert "already up to date" in again.stdout
