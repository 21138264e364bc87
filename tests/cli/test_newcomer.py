"""The README's first steps, run as a newcomer would: the installed `okrbridge` script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = shutil.which("okrbridge", path=str(Path(sys.executable).parent)) or "okrbridge"


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKRBRIDGE_")}
    env["HOME"] = str(tmp_path / "home")  # the default store lives under the user data dir
    env["XDG_DATA_HOME"] = str(tmp_path / "home" / "data")
    env["COLUMNS"] = "120"
    return env


def test_first_steps(tmp_path: Path, clean_env: dict[str, str], db_url: str) -> None:
    env = {**clean_env, "OKRBRIDGE_STORE_URL": db_url}
    assert run(tmp_path, env, "init").returncode == 0
    assert run(tmp_path, env, "init").returncode == 2  # never overwrites without --force
    check = run(tmp_path, env, "config", "check")
    assert check.returncode == 0, check.stderr
    assert run(tmp_path, env, "db", "upgrade").returncode == 0
    checkin = run(tmp_path, env, "checkin", "kr-installs", "125000", "--note", "store stats")
    assert checkin.returncode == 0, checkin.stderr
    status = run(tmp_path, env, "status", "--json")
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    krs = {kr["id"]: kr for o in doc["objectives"] for kr in o["key_results"]}
    assert krs["kr-installs"]["value"] == 125000
    assert krs["kr-installs"]["status"] in {"on_track", "needs_attention", "off_track"}
    assert {c["instance"] for c in doc["connectors"]} == {
        "jira-mkt",
        "github-game",
        "trello-launch",
    }


def test_default_store_is_sqlite_in_the_user_data_dir(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    assert run(tmp_path, clean_env, "init").returncode == 0
    result = run(tmp_path, clean_env, "checkin", "kr-installs", "1")
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "home").rglob("okrbridge.sqlite3"))


def test_unknown_key_result_is_a_usage_error(tmp_path: Path, clean_env: dict[str, str]) -> None:
    env = {**clean_env, "OKRBRIDGE_STORE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    run(tmp_path, env, "init")
    result = run(tmp_path, env, "checkin", "kr-nope", "1")
    assert result.returncode == 2
    assert "kr-nope" in result.stderr


def test_help_and_version(tmp_path: Path, clean_env: dict[str, str]) -> None:
    help_text = run(tmp_path, clean_env, "--help")
    assert help_text.returncode == 0
    for command in ("init", "sync", "status", "checkin", "cleanup", "demo"):
        assert command in help_text.stdout
    assert run(tmp_path, clean_env, "--version").stdout.startswith("okrbridge ")
