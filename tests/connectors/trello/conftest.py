"""Trello test fixtures: the simulator served on loopback, and connectors pointed at it.

Time is simulated: the connector's sleeps advance a fake clock that also drives the
simulator's rate-limit windows, so 10 s waits cost nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import connectors.trello.simulator
from connectors.trello import TrelloConnector, TrelloSettings
from connectors.trello.simulator import Limits, TrelloSimulator
from okrbridge.connector.pacing import TokenBucket
from okrbridge.sandbox.harness import SandboxServer

FIXTURES = Path(connectors.trello.simulator.__file__).parent / "payloads"
"""Recorded Trello deliveries and objects, shared with the simulator (which builds its
webhook payloads from them)."""


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


class FakeClock:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> TrelloSimulator:
    """Rate limits off by default (the rate-limit tests turn them on)."""
    return TrelloSimulator(limits=Limits(enabled=False), monotonic=clock)


@pytest.fixture
def server(sim: TrelloSimulator) -> Iterator[SandboxServer]:
    with SandboxServer(sim.app) as running:
        yield running


def make_connector(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock, **overrides: Any
) -> TrelloConnector:
    table = {**sim.settings(server.url), **overrides}
    settings = TrelloSettings.model_validate(table)
    pacer = TokenBucket.per_window(100, 10, headroom=0.9, clock=clock, sleep=clock.sleep)
    return TrelloConnector("trello-test", settings, sim.env(), pacer=pacer, sleep=clock.sleep)
