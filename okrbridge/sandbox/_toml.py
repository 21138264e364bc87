"""TOML for config snippets (`okrbridge sandbox`, the demo), written with tomli-w."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import tomli_w

__all__ = ["dumps_table"]


def dumps_table(path: Sequence[str], table: Mapping[str, Any]) -> str:
    """`[a.b]` followed by its keys; nested mappings become `[a.b.c]` sub-tables.

    None values are left out (TOML has no null; absent means default); durations are written
    the way the config reads them (`"90s"`)."""
    nested: dict[str, Any] = _plain(table)
    for part in reversed(path):
        nested = {part: nested}
    return tomli_w.dumps(nested).strip()


def _plain(table: Mapping[str, Any]) -> dict[str, Any]:
    return {str(key): _value(value) for key, value in table.items() if value is not None}


def _value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _plain(value)
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return f"{int(seconds)}s" if seconds.is_integer() else f"{seconds}s"
    if isinstance(value, list | tuple):
        return [_value(item) for item in value]
    return value
