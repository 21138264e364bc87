"""The worked example's simulators served in the test process, and the real `okrbridge` script
run against them in a subprocess, as a newcomer would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from okrbridge.cli.demo import running_simulators
from okrbridge.sandbox import SimulatedTool
from okrbridge.sandbox.worked_example import render_config

SCRIPT = shutil.which("okrbridge", path=str(Path(sys.executable).parent)) or "okrbridge"


def run_cli(
    cwd: Path, env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKRBRIDGE_")}
    env["HOME"] = str(tmp_path / "home")
    env["XDG_DATA_HOME"] = str(tmp_path / "home" / "data")
    env["COLUMNS"] = "80"
    return env


@dataclass
class Sims:
    """Running simulators, a config pointing at them and the env holding their credentials."""

    config: Path
    env: dict[str, str]
    tools: dict[str, SimulatedTool] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run_cli(
            self.config.parent, self.env, *args, "--config", str(self.config), timeout=timeout
        )


@pytest.fixture
def sims(tmp_path: Path, clean_env: dict[str, str]) -> Iterator[Sims]:
    with running_simulators() as started:
        env = dict(clean_env)
        for _, _, tool in started:
            env.update(tool.env())
        config = tmp_path / "okrbridge.toml"
        db = tmp_path / "store.sqlite3"
        config.write_text(
            render_config([s for s, _, _ in started], f"sqlite:///{db}", date.today()),
            encoding="utf-8",
        )
        yield Sims(
            config,
            env,
            {s.instance: tool for s, _, tool in started},
            {s.instance: srv.url for s, srv, _ in started},
        )
