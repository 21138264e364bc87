"""`okrbridge serve-dashboard`: the dashboard alone, as a process, with and without a token."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from typer.testing import CliRunner

from okrbridge.cli.app import app
from okrbridge.web.dashboard.auth import TOKEN_ENV

SCRIPT = shutil.which("okrbridge", path=str(Path(sys.executable).parent)) or "okrbridge"
CONFIG = """
[store]
url = "sqlite:///{db}"

[[objectives]]
id = "ship"
title = "Ship the <beta> launch"
start = 2026-10-01
end = 2026-12-31

[[objectives.key_results]]
id = "kr-signups"
title = "Beta signups"
target = 1000
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(tmp_path: Path, **extra_env: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    config = tmp_path / "okrbridge.toml"
    config.write_text(CONFIG.format(db=tmp_path / "store.sqlite3"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKRBRIDGE_")}
    env.update(extra_env, HOME=str(tmp_path))
    port = free_port()
    args = [SCRIPT, "serve-dashboard", "-c", str(config), "--port", str(port)]
    process = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[0]
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def output_of(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.read()


def test_serves_the_dashboard_behind_the_token_from_env(tmp_path: Path) -> None:
    token = "serve-dashboard-test-token"
    with serving(tmp_path, **{TOKEN_ENV: token}) as (url, process):
        assert httpx.get(f"{url}/", timeout=10).status_code == 401
        response = httpx.get(f"{url}/?token={token}", timeout=10)
        assert response.status_code == 200
        assert "Ship the &lt;beta&gt; launch" in response.text
        page = httpx.get(f"{url}/kr/kr-signups", cookies=response.cookies, timeout=10)
        assert page.status_code == 200
        assert httpx.get(f"{url}/webhooks/x", timeout=10).status_code in {404, 405}  # no daemon
    log = output_of(process)
    assert "serving the dashboard" in log
    assert "dashboard access control on" in log
    assert token not in log


def test_half_configured_basic_auth_is_a_usage_error(tmp_path: Path) -> None:
    env = {"OKRBRIDGE_DASHBOARD_USER": "pmo", "OKRBRIDGE_DASHBOARD_PASSWORD": ""}
    args = ["serve-dashboard", "-c", str(tmp_path / "none.toml")]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2
    assert "OKRBRIDGE_DASHBOARD_PASSWORD" in result.output
