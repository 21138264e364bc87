"""Honest small things: whole help texts, options with their choices, servers logging the
address they really bound, a dry run that says what it saved."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from okrbridge.cli.app import app
from tests.cli.conftest import SCRIPT, Sims, run_cli


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_top_level_help_shows_whole_descriptions(tmp_path: Path, clean_env: dict[str, str]) -> None:
    result = run_cli(tmp_path, clean_env, "--help")
    assert result.returncode == 0
    commands = result.stdout.split("Commands:", 1)[1]
    assert "..." not in commands
    flat = _flat(result.stdout)
    assert "Write a commented starter config (the README's worked example)." in flat
    for info in app.registered_commands:
        assert info.callback is not None
        doc = info.callback.__doc__ or ""
        summary = "".join(doc.strip().split("\n\n")[0].split())
        assert summary in "".join(flat.split())  # every command's whole first paragraph


def test_options_show_their_choices(tmp_path: Path, clean_env: dict[str, str]) -> None:
    expected = {
        ("inbox", "list"): "--status [pending|done|parked]",
        ("inbox", "purge"): "--status [done|parked]",
        ("report",): "--format [md|html]",
        ("checkin",): "--confidence [on_track|needs_attention|off_track]",
    }
    for command, shown in expected.items():
        text = run_cli(tmp_path, {**clean_env, "COLUMNS": "120"}, *command, "--help").stdout
        assert shown in text, text


def _serve(sims: Sims, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SCRIPT, *args, "--config", str(sims.config), "--port", "0"],
        cwd=sims.config.parent,
        env={**sims.env, "OKRBRIDGE_WEB_HOST": "127.0.0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _logged_url(process: subprocess.Popen[str], event: str, key: str) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    for line in process.stderr:
        if event in line:
            return str(json.loads(line)[key])
        assert time.monotonic() < deadline
    raise AssertionError(f"no {event!r} line logged")


def test_serve_dashboard_logs_the_port_it_really_bound(sims: Sims) -> None:
    process = _serve(sims, "serve-dashboard")
    try:
        url = _logged_url(process, "serving the dashboard", "url")
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*/", url), url
        for _ in range(100):
            try:
                response = httpx.get(url, timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_daemon_logs_the_port_it_really_listens_on(sims: Sims) -> None:
    process = _serve(sims, "daemon")
    try:
        listen = _logged_url(process, "daemon starting", "listen")
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*", listen), listen
        for _ in range(100):
            try:
                response = httpx.get(f"{listen}/healthz", timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert response.status_code < 500
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_dry_run_says_plainly_what_it_saved(sims: Sims) -> None:
    dry = sims.run("sync", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "pulled tasks were saved in the store" in _flat(dry.stdout)
    assert all(tool.write_count() == 0 for tool in sims.tools.values())
