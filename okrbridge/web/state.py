"""What the web app needs from the daemon, in one object (also handed to the dashboard)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from okrbridge.config.schema import Config
from okrbridge.connector.base import Connector
from okrbridge.runtime.inbox_writer import InboxWriter
from okrbridge.runtime.metrics import DaemonMetrics
from okrbridge.scheduler.health import HealthBoard, SchedulerHeartbeat
from okrbridge.store.db import Store

__all__ = ["WebState"]


@dataclass
class WebState:
    """The daemon's parts the ASGI app reads or calls.

    `connectors` are used on the request path only to verify and parse deliveries.
    `on_accepted` is called (from the writer thread) after new deliveries were committed.
    """

    config: Config
    store: Store
    connectors: Mapping[str, Connector[Any]]
    writer: InboxWriter
    metrics: DaemonMetrics
    health: HealthBoard
    on_accepted: Callable[[], None] = field(default=lambda: None)
    heartbeat: SchedulerHeartbeat | None = None
    """The scheduler's heartbeat (None: this process runs no scheduler)."""
    process: str = "okrbridge"
    """Who writes the readiness probe (the daemon's id)."""
