"""Fixtures for config tests: fake connector classes with the real connectors' settings shapes.

The real connector packages are written in parallel; these stand-ins carry the setting names
their authors agreed on, so the loader is tested without depending on them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from okrbridge.config import LoadedConfig, load_config
from okrbridge.config.schema import ConnectorSettings
from okrbridge.connector.base import Capability, Connector
from okrbridge.connector.registry import ConnectorRegistry

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "config.example.toml"


class JiraSettings(ConnectorSettings):
    type: Literal["jira"] = "jira"
    jql: str
    auth: Literal["cloud", "datacenter"] = "cloud"
    email_env: str | None = None
    token_env: str | None = None
    pat_env: str | None = None
    estimate_field: str = "Story Points"
    webhook_secret_env: str | None = None


class GitHubSettings(ConnectorSettings):
    type: Literal["github"] = "github"
    base_url: str = "https://api.github.com"
    token_env: str
    owner: str
    owner_type: Literal["organization", "user"] = "organization"
    projects: list[int]
    status_field: str = "Status"
    estimate_field: str | None = None
    webhook_secret_env: str | None = None


class TrelloSettings(ConnectorSettings):
    type: Literal["trello"] = "trello"
    base_url: str = "https://api.trello.com"
    key_env: str
    token_env: str
    secret_env: str | None = None
    boards: list[str]
    callback_url: str | None = None


def _fake(
    name: str, model: type[ConnectorSettings], max_label_length: int | None = None
) -> type[Connector[Any]]:
    attrs = {
        "name": name,
        "settings_model": model,
        "capabilities": frozenset[Capability](),
        "max_label_length": max_label_length,
    }
    return type(f"Fake{name.title()}Connector", (Connector,), attrs)


@pytest.fixture
def registry() -> ConnectorRegistry:
    registry = ConnectorRegistry()
    registry.register(_fake("jira", JiraSettings))
    registry.register(_fake("github", GitHubSettings, max_label_length=50))
    registry.register(_fake("trello", TrelloSettings))
    return registry


Loader = Callable[..., LoadedConfig]


@pytest.fixture
def load(tmp_path: Path, registry: ConnectorRegistry) -> Loader:
    """Write `text` to okrbridge.toml and load it (secrets checked against `env`)."""

    def run(
        text: str, env: dict[str, str] | None = None, check_secrets: bool = True
    ) -> LoadedConfig:
        path = tmp_path / "okrbridge.toml"
        path.write_text(text, encoding="utf-8")
        return load_config(path, env=env or {}, registry=registry, check_secrets=check_secrets)

    return run
