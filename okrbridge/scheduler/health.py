"""Per connector instance health: last success, last error; a failure logged once, a recovery
once (not on every failing run)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from okrbridge.logs import get_logger

__all__ = ["ConnectorHealth", "HealthBoard"]

log = get_logger(__name__)


@dataclass
class ConnectorHealth:
    """What the daemon knows about one connector instance's recent runs."""

    instance: str
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failing: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def success(self, *, now: datetime | None = None) -> None:
        with self._lock:
            recovered = self.failing
            self.failing = False
            self.last_success_at = now or datetime.now(UTC)
        if recovered:
            log.info("connector recovered", connector=self.instance)

    def failure(self, error: str, *, now: datetime | None = None) -> None:
        with self._lock:
            first = not self.failing
            self.failing = True
            self.last_error, self.last_error_at = error, now or datetime.now(UTC)
        if first:
            log.warning("connector failing", connector=self.instance, error=error)
        else:
            log.debug("connector still failing", connector=self.instance, error=error)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "ok": not self.failing,
                "last_success_at": _iso(self.last_success_at),
                "last_error": self.last_error,
                "last_error_at": _iso(self.last_error_at),
            }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


class HealthBoard:
    """The health objects of every configured instance, by name."""

    def __init__(self, instances: list[str]) -> None:
        self.by_instance = {name: ConnectorHealth(name) for name in instances}

    def __getitem__(self, instance: str) -> ConnectorHealth:
        return self.by_instance[instance]

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {name: health.as_dict() for name, health in self.by_instance.items()}
