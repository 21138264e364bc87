"""`okrbridge webhooks register <instance>`: a connector that can registers the daemon's URL."""

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
        url = "http://127.0.0.1:8080/webhooks/trello-main"
        args = ["webhooks", "register", "trello-main", "--config", str(config)]
        result = CliRunner().invoke(app, [*args, "--callback-url", url])
        assert result.exit_code == 0, result.output
        boards = table["boards"]
        posted = [e for e in server.log.snapshot() if e.method == "POST" and "webhooks" in e.path]
        assert len(posted) == len(boards)  # one webhook per configured board
        assert all(f"board {board}: webhook" in result.output for board in boards)
        again = CliRunner().invoke(app, [*args, "--callback-url", url])
        assert again.exit_code == 0, again.output  # already there: found, not duplicated
        assert sum(1 for hook in tool.state.webhooks.values() if hook["callbackURL"] == url) == len(
            boards
        )

        missing = CliRunner().invoke(app, ["webhooks", "register", "nope", "--config", str(config)])
        assert missing.exit_code == 2
        assert "no connector instance 'nope'" in missing.output
        no_url = CliRunner().invoke(app, args)
        assert no_url.exit_code == 2
        assert "--callback-url" in no_url.output
