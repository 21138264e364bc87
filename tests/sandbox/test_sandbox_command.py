"""`okrbridge sandbox` prints a complete config: saved as it is, with the credentials it prints
exported, a sync maps tasks in every tool and names no initiative that matches nothing."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

SCRIPT = shutil.which("okrbridge", path=str(Path(sys.executable).parent)) or "okrbridge"
MARK = "== okrbridge.toml (complete"


def _read_until_serving(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Serving until Ctrl-C"):
            break
    return "".join(lines)


def test_sandbox_config_is_complete_and_maps_its_seeded_data(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKRBRIDGE_")}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"), COLUMNS="120")
    process = subprocess.Popen(
        [SCRIPT, "sandbox"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        text = _read_until_serving(process)
        assert MARK in text
        config = text.split(MARK, 1)[1].split("\n", 1)[1].split("\n\nSeeded with", 1)[0]
        (tmp_path / "okrbridge.toml").write_text(config + "\n", encoding="utf-8")
        for line in text.splitlines():
            if line.strip().startswith("export "):
                name, value = shlex.split(line.strip().removeprefix("export "))[0].split("=", 1)
                env[name] = value
        result = subprocess.run(
            [SCRIPT, "sync"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    assert "matches no task" not in result.stdout
    rows = {
        cells[0]: cells
        for cells in (line.split() for line in result.stdout.splitlines())
        if cells and cells[0] in {"jira-mkt", "github-game", "trello-launch"} and len(cells) == 8
    }
    assert set(rows) == {"jira-mkt", "github-game", "trello-launch"}
    assert all(int(cells[3]) > 0 for cells in rows.values()), rows  # mapped tasks everywhere
