"""Fixtures for the Jira connector tests: payload files, a served simulator, a connector."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.jira import JiraConnector, JiraSettings
from connectors.jira.simulator import JiraSimulator, RateLimit
from okrbridge.sandbox.harness import SandboxServer

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def sim() -> JiraSimulator:
    return JiraSimulator(rate_limit=RateLimit(rate=1000, burst=1000))


@pytest.fixture
def server(sim: JiraSimulator) -> Iterator[SandboxServer]:
    with SandboxServer(sim.app) as running:
        yield running


def make_connector(sim: JiraSimulator, server: SandboxServer, **overrides: Any) -> JiraConnector:
    table = {**sim.settings(server.url), **overrides}
    return JiraConnector("jira", JiraSettings(**table), sim.env())


@pytest.fixture
def connector(sim: JiraSimulator, server: SandboxServer) -> Iterator[JiraConnector]:
    with make_connector(sim, server) as conn:
        yield conn  # type: ignore[misc]
