"""Fixtures for the GitHub connector tests: the npm artifacts (official schema, webhook
examples) and a simulator served on loopback.

The npm packages live in `.ci/node_modules` (installed by `.ci/run` with `npm ci --prefix .ci`)
or wherever `OKRBRIDGE_OCTOKIT_DIR` points. Outside CI a missing artifact skips the tests that
need it; with `OKRBRIDGE_CI=1` it fails them, so CI can never go green without checking.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema, build_schema

REPO = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "fixtures"


def octokit_dir() -> Path:
    configured = os.environ.get("OKRBRIDGE_OCTOKIT_DIR")
    base = Path(configured) if configured else REPO / ".ci" / "node_modules"
    # Accept either node_modules itself or a folder holding it.
    return base / "@octokit" if (base / "@octokit").is_dir() else base / "node_modules" / "@octokit"


def require_artifact(path: Path, what: str) -> Path:
    if path.is_file():
        return path
    message = (
        f"{what} not found at {path}: run `npm ci --prefix .ci` "
        "(or set OKRBRIDGE_OCTOKIT_DIR to the node_modules folder holding @octokit)"
    )
    if os.environ.get("OKRBRIDGE_CI") == "1":
        pytest.fail(message)
    pytest.skip(message)


@cache
def _official_schema(path: Path) -> GraphQLSchema:
    # GitHub's published SDL breaks graphql-core's own SDL and schema checks (duplicate fields,
    # deprecation rules): trust it as GitHub serves it, and validate documents only.
    return build_schema(path.read_text(encoding="utf-8"), assume_valid_sdl=True, assume_valid=True)


@pytest.fixture(scope="session")
def official_schema() -> GraphQLSchema:
    path = require_artifact(
        octokit_dir() / "graphql-schema" / "schema.graphql", "@octokit/graphql-schema"
    )
    return _official_schema(path)


@pytest.fixture(scope="session")
def webhook_examples() -> dict[str, list[dict[str, Any]]]:
    path = require_artifact(
        octokit_dir() / "webhooks-examples" / "api.github.com" / "index.json",
        "@octokit/webhooks-examples",
    )
    events = json.loads(path.read_text(encoding="utf-8"))
    return {event["name"]: event["examples"] for event in events}


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


class VirtualClock:
    """Monotonic clock for pacers whose `sleep` only moves time forward (nothing waits)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.on_sleep: list[Any] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        for hook in self.on_sleep:
            hook(seconds)


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def sim() -> Iterator[Any]:
    from connectors.github.simulator import GitHubSimulator

    return GitHubSimulator()


@pytest.fixture
def server(sim: Any) -> Iterator[Any]:
    from okrbridge.sandbox.harness import SandboxServer

    with SandboxServer(sim.app) as running:
        yield running


@pytest.fixture
def make_connector(sim: Any, server: Any, vclock: VirtualClock) -> Iterator[Any]:
    from connectors.github import GitHubConnector, GitHubSettings

    made: list[GitHubConnector] = []

    def make(**overrides: Any) -> GitHubConnector:
        settings = GitHubSettings(**{**sim.settings(server.url), **overrides})
        connector = GitHubConnector(
            "gh", settings, sim.env(), sleep=vclock.sleep, pacer_clock=vclock
        )
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()
