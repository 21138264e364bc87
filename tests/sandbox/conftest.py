"""Servers around the example simulator for the sandbox harness tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sandbox_example import ItemsSimulator

from okrbridge.sandbox import SandboxServer


class _Swappable:
    """Delegates to the current simulator's app, so one server serves a fresh one per test."""

    def __init__(self) -> None:
        self.sim = ItemsSimulator()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.sim.app(scope, receive, send)


@pytest.fixture(scope="module")
def _items_server() -> Iterator[tuple[_Swappable, SandboxServer]]:
    swappable = _Swappable()
    with SandboxServer(swappable) as server:
        yield swappable, server


@pytest.fixture
def sim(_items_server: tuple[_Swappable, SandboxServer]) -> ItemsSimulator:
    """A fresh simulator behind the module's server."""
    swappable, server = _items_server
    swappable.sim = ItemsSimulator()
    server.middleware.reset()
    return swappable.sim


@pytest.fixture
def server(_items_server: tuple[_Swappable, SandboxServer], sim: ItemsSimulator) -> SandboxServer:
    """The running server around `sim`, with no latency, no faults and an empty log."""
    return _items_server[1]


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=2.0, trust_env=False) as http:
        yield http
