"""Logging: stdlib and structlog lines share one JSON pipeline, context rides along, secrets
are masked everywhere (messages, fields, tracebacks)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from okrbridge.config.schema import Config
from okrbridge.logs import bound, collect_secrets, configure_logging, get_logger
from tests.support.memory import MemorySettings

TOKEN = "tok-3f9a2b7c"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    configure_logging([TOKEN], json=True, stream=out)
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_secrets_are_masked_in_every_kind_of_line(stream: io.StringIO) -> None:
    with bound(connector="mem", delivery="D1"):
        logging.getLogger("httpx").warning("GET https://x/?token=%s failed", TOKEN)
        get_logger("okrbridge.test").info("calling tool", header=f"Bearer {TOKEN}")
        try:
            raise RuntimeError(f"401 for {TOKEN}")
        except RuntimeError:
            logging.getLogger("okrbridge.sync").exception("sync failed")
    text = stream.getvalue()
    assert TOKEN not in text
    records = lines(stream)
    assert len(records) == 3
    assert all(r["connector"] == "mem" and r["delivery"] == "D1" for r in records)
    assert records[0]["event"] == "GET https://x/?token=*** failed"
    assert records[1]["header"] == "Bearer ***"
    assert "RuntimeError: 401 for ***" in str(records[2]["exception"])


def test_debug_lines_are_dropped_at_info(stream: io.StringIO) -> None:
    get_logger("okrbridge.test").debug("noise")
    logging.getLogger("uvicorn.error").info("Started server process")
    assert [r["event"] for r in lines(stream)] == ["Started server process"]


def test_collect_secrets_reads_every_env_setting_and_the_store_password() -> None:
    settings = MemorySettings(
        type="memory",
        base_url="http://127.0.0.1:1",
        token_env="MEM_TOKEN",
        webhook_secret_env="MEM_HOOK",
    )
    config = Config(connectors={"mem": settings}).model_copy(
        update={"store": Config().store.model_copy(update={"url": "postgresql://u:pw-xyz1@h/db"})}
    )
    env = {
        "MEM_TOKEN": TOKEN,
        "MEM_HOOK": "hook-secret-1",
        "OTHER": "not-a-secret",
        "OKRBRIDGE_DASHBOARD_TOKEN": "dash-token-1",
        "OKRBRIDGE_DASHBOARD_PASSWORD": "dash-pass-1",
    }
    assert collect_secrets(config, env) == sorted(
        [TOKEN, "hook-secret-1", "pw-xyz1", "dash-token-1", "dash-pass-1"]
    )
