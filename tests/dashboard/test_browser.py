"""End to end: headless Chromium renders the served dashboard (tree, statuses, chart).

Screenshots are saved under `artifacts/` (gitignored) for people to look at. Skips when
Chromium is not installed, except in CI (`OKRBRIDGE_CI=1`), where it fails instead.
"""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest

from okrbridge.sandbox import SandboxServer
from okrbridge.web.dashboard import DashboardAuth, create_dashboard_app
from tests.dashboard.html import Page
from tests.dashboard.seed import NOW, TASKS_EARLY, Seeded

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
TOKEN = "browser-test-token"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture
def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"headless Chromium not found at {CHROMIUM} (apt-get install chromium chromium-driver)"
    if os.environ.get("OKRBRIDGE_CI") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def browse(chromium: Path, profile: Path, *args: str) -> str:
    result = subprocess.run(
        [str(chromium), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_chromium_renders_tree_statuses_and_chart(
    chromium: Path, sqlite_seeded: Seeded, tmp_path: Path
) -> None:
    app = create_dashboard_app(
        sqlite_seeded.config,
        sqlite_seeded.store,
        auth=DashboardAuth(token=TOKEN),
        clock=lambda: NOW,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    with SandboxServer(app) as server:
        overview = Page(
            browse(chromium, tmp_path / "p1", "--dump-dom", f"{server.url}/?token={TOKEN}")
        )
        kr = Page(
            browse(chromium, tmp_path / "p2", "--dump-dom", f"{server.url}/kr/kr-dau?token={TOKEN}")
        )
        for name, path in (("overview", "/"), ("key-result", "/kr/kr-dau")):
            shot = ARTIFACTS / f"dashboard-{name}.png"
            shot.unlink(missing_ok=True)
            browse(
                chromium,
                tmp_path / f"shot-{name}",
                f"--screenshot={shot}",
                "--window-size=1280,2000",
                f"{server.url}{path}?token={TOKEN}",
            )
            assert png_size(shot) == (1280, 2000)
            assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    assert overview.find("h2")[0].text == "Grow our new mobile game Off track"
    titles = [h.text for h in overview.find("h3")]
    assert titles == [
        "Over 85% of App Store reviews at 4+ stars Off track",
        "Daily active users Needs attention",
        "Crash bugs fixed Off track",
    ]
    links = overview.links()
    for task in TASKS_EARLY[:4]:
        assert links[task.url] == task.key
    assert len(overview.find("span", "badge")) == 4
    assert kr.one("svg", "chart").attrs["role"] == "img"
    assert len(kr.find("circle", "point")) == 3
    assert len(kr.find("polyline", "plan")) == 1
    assert "Needs attention" in kr.one("h1").text
