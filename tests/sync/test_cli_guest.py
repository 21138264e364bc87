"""The CLI side of the guest promise: a busy instance and a refused write exit 1 with the
reason in `--json`; `cleanup --dry-run` lists what it counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from okrbridge.domain import StatusCategory
from okrbridge.sandbox import SeedTask
from okrbridge.store.db import Store
from okrbridge.sync.lease import instance_lease
from tests.support.memory.config import write_config
from tests.sync.conftest import Bench

REPO = Path(__file__).resolve().parents[2]


def cli(bench: Bench, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **bench.tool.env(), "PYTHONPATH": str(REPO)}
    command = [
        sys.executable,
        "-m",
        "tests.support.cli_with_memory",
        *args,
        "--config",
        str(config),
    ]
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_busy_instance_and_refused_write_exit_1(
    bench: Bench, tmp_path: Path, db_url: str, store: Store
) -> None:
    ids = [
        bench.tool.add_task(SeedTask(f"t{i}", "MKT", StatusCategory.TODO, ("reviews",)))
        for i in range(3)
    ]
    config = write_config(tmp_path / "okrbridge.toml", tool_url=bench.server.url, store_url=db_url)
    with instance_lease(store, "mem"):
        busy = cli(bench, config, "sync", "--json")
    assert busy.returncode == 1
    document = json.loads(busy.stdout)
    assert document["ok"] is False
    assert "another sync of mem is running" in document["connectors"][0]["error"]
    assert bench.tool.write_count() == 0

    bench.tool.refuse_writes_to(ids[0], "issue is locked")
    refused = cli(bench, config, "sync", "--json")
    assert refused.returncode == 1
    assert "issue is locked" in json.loads(refused.stdout)["connectors"][0]["error"]
    status = json.loads(cli(bench, config, "status", "--json").stdout)
    assert status["connectors"][0]["parked_writes"][0]["task"] == ids[0]

    dry = cli(bench, config, "cleanup", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would clean 2 task(s): 2 label(s) removed" in dry.stdout
    assert dry.stdout.count("remove label") == 2
