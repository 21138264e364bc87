"""A small TOML writer for config snippets: tables of scalars, lists and nested tables."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

__all__ = ["dumps_table", "format_key", "format_value"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def format_key(key: str) -> str:
    """A bare key when allowed, else a basic string."""
    return key if _BARE_KEY.fullmatch(key) else format_value(key)


def format_value(value: Any) -> str:
    """One TOML value, inline. Raises TypeError for what TOML cannot hold (e.g. None)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string once non-ASCII stays as is and the
        # escapes are the shared ones (\" \\ \n \t \uXXXX ...).
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return format_value(f"{int(seconds)}s" if seconds.is_integer() else f"{seconds}s")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        items = ", ".join(f"{format_key(str(k))} = {format_value(v)}" for k, v in value.items())
        return "{" + items + "}" if items else "{}"
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dumps_table(path: Sequence[str], table: Mapping[str, Any]) -> str:
    """`[a.b]` followed by its keys; nested mappings become `[a.b.c]` sub-tables.

    None values are left out (TOML has no null; absent means default)."""
    header = ".".join(format_key(part) for part in path)
    lines = [f"[{header}]"]
    subtables: list[str] = []
    for key, value in table.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and value:
            subtables.append(dumps_table([*path, str(key)], value))
        else:
            lines.append(f"{format_key(str(key))} = {format_value(value)}")
    return "\n\n".join(["\n".join(lines), *subtables])
