"""Fixtures for the shared connector plumbing: a fake clock that sleeping advances."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import respx

from okrbridge.connector import HttpTransport, RetryPolicy
from okrbridge.connector.base import ConnectorStats

BASE = "https://tool.example"
START = 1_700_000_000.0  # 2023-11-14T22:13:20Z


class FakeClock:
    """Wall and monotonic time in one; `sleep` advances it and records the delay."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stats() -> ConnectorStats:
    return ConnectorStats()


@pytest.fixture
def tool() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


MakeTransport = Callable[..., HttpTransport]


@pytest.fixture
def make_transport(clock: FakeClock, stats: ConnectorStats) -> Iterator[MakeTransport]:
    """Build a transport on the fake clock with jitter off (exact, predictable waits)."""
    made: list[HttpTransport] = []

    def make(**overrides: Any) -> HttpTransport:
        policy_args = overrides.pop("policy_args", {})
        options: dict[str, Any] = {
            "instance": "tool-main",
            "base_url": BASE,
            "stats": stats,
            "policy": RetryPolicy(jitter=(1.0, 1.0), **policy_args),
            "sleep": clock.sleep,
            "clock": clock.time,
        }
        options.update(overrides)
        transport = HttpTransport(**options)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()
