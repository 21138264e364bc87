"""Connector discovery: entry points of group `okrbridge.connectors` into an explicit registry.

The core never imports a concrete connector; it asks this registry for a class by the `type`
written in the config. A name registered twice is refused rather than silently shadowed.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from okrbridge.connector.base import Connector

__all__ = ["ENTRY_POINT_GROUP", "ConnectorRegistry", "RegistryError", "default_registry"]

ENTRY_POINT_GROUP = "okrbridge.connectors"
AnyConnector = type[Connector[Any]]


class RegistryError(Exception):
    """A connector type is unknown, registered twice, or its entry point cannot be loaded."""


class ConnectorRegistry:
    """Name -> connector class. Entry points are loaded lazily, on first use of a name."""

    def __init__(self) -> None:
        self._classes: dict[str, AnyConnector] = {}
        self._pending: dict[str, EntryPoint] = {}

    def register(self, cls: AnyConnector, *, name: str | None = None) -> None:
        key = name or cls.name
        if key in self._classes or key in self._pending:
            raise RegistryError(f"connector type {key!r} is registered twice")
        self._classes[key] = cls

    def add_entry_point(self, entry_point: EntryPoint) -> None:
        if entry_point.name in self._classes or entry_point.name in self._pending:
            raise RegistryError(
                f"connector type {entry_point.name!r} is registered twice "
                f"(entry point {entry_point.value})"
            )
        self._pending[entry_point.name] = entry_point

    def names(self) -> list[str]:
        return sorted({*self._classes, *self._pending})

    def get(self, name: str) -> AnyConnector:
        if name in self._classes:
            return self._classes[name]
        entry_point = self._pending.get(name)
        if entry_point is None:
            known = ", ".join(self.names()) or "none installed"
            raise RegistryError(f"unknown connector type {name!r} (known: {known})")
        try:
            cls = entry_point.load()
        except Exception as exc:  # a broken plugin must not look like an unknown type
            raise RegistryError(
                f"connector type {name!r} could not be loaded from {entry_point.value}: {exc}"
            ) from exc
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise RegistryError(f"entry point {entry_point.value} is not a Connector class")
        del self._pending[name]
        self._classes[name] = cls
        return cls

    def __contains__(self, name: object) -> bool:
        return name in self._classes or name in self._pending


_default: ConnectorRegistry | None = None


def default_registry() -> ConnectorRegistry:
    """The process-wide registry, filled from installed entry points on first call."""
    global _default
    if _default is None:
        registry = ConnectorRegistry()
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            registry.add_entry_point(entry_point)
        _default = registry
    return _default
