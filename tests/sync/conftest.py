from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from okrbridge.config.schema import Config
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.sandbox import SandboxServer
from okrbridge.store.db import Store
from okrbridge.sync.runner import SyncReport, run_sync
from tests.support.memory import MemoryConnector, MemorySettings, MemoryTool
from tests.support.okr import NOW, okr_config


@dataclass
class Bench:
    """A memory tool served on loopback, a store, and a config pointing the bridge at both."""

    tool: MemoryTool
    server: SandboxServer
    store: Store
    registry: ConnectorRegistry
    config: Config

    def sync(self, **kwargs: object) -> SyncReport:
        kwargs.setdefault("now", NOW)
        return run_sync(self.config, self.store, self.registry, env=self.tool.env(), **kwargs)  # type: ignore[arg-type]

    def reconfigure(self, **push: object) -> None:
        settings = MemorySettings(**self.tool.settings(self.server.url))
        self.config = okr_config("mem", settings, **push)


@pytest.fixture
def bench(store: Store) -> Iterator[Bench]:
    tool = MemoryTool()
    registry = ConnectorRegistry()
    registry.register(MemoryConnector)
    with SandboxServer(tool.app) as server:
        settings = MemorySettings(**tool.settings(server.url))
        yield Bench(tool, server, store, registry, okr_config("mem", settings))
