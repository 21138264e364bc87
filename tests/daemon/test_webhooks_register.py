"""`okrbridge webhooks register trello`: the Trello connector registers the daemon's URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.trello import TrelloConnector
from okrbridge.cli.app import app
from okrbridge.sandbox import SandboxServer


def test_register_calls_the_trello_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = TrelloConnector.simulator()
    with SandboxServer(tool.app) as server:
        table = tool.settings(server.url)
        lines = [f"{k} = {v!r}".replace("'", '"') for k, v in table.items()]
        config = tmp_path / "okrbridge.toml"
        config.write_text(
            f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n\n[connectors.trello-main]\n'
            + "\n".join(lines)
            + "\n",
            encoding="utf-8",
        )
        for name, value in tool.env().items():
            monkeypatch.setenv(name, value)
        args = ["webhooks", "register", "trello", "--board", "main", "--config", str(config),
                "--callback-url", "http://127.0.0.1:8080/webhooks/trello-main"]  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "registered for main" in result.output
        posted = [e for e in server.log.snapshot() if e.method == "POST" and "webhooks" in e.path]
        assert len(posted) == 1

        wrong = CliRunner().invoke(app, [*args[:2], "github", *args[3:]])
        assert wrong.exit_code == 2  # no github instance configured
