"""Builders for store tests (imported by module name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from okrbridge.domain import StatusCategory, Task

T0 = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)


def make_task(n: int, connector: str = "jira", **changes: Any) -> Task:
    """A fully populated task numbered `n` (every column holds a non-default value)."""
    values: dict[str, Any] = {
        "connector": connector,
        "external_id": f"{10000 + n}",
        "key": f"OPS-{n}",
        "url": f"https://example.test/browse/OPS-{n}",
        "title": f"Task number {n}: ünïcode",
        "container": "OPS",
        "status_name": "In Progress",
        "status_category": StatusCategory.IN_PROGRESS,
        "labels": ("okr:growth", f"l{n % 3}"),
        "assignees": ("ana", "bo"),
        "estimate": 3.5,
        "parent": "OPS-1",
        "due": date(2026, 6, 30),
        "fields": {"Team": "Growth"},
        "updated_at": T0 + timedelta(minutes=n),
        "raw": {"id": str(10000 + n), "nested": {"list": [1, 2, n]}},
    }
    values.update(changes)
    return Task(**values)
