"""Builders for engine tests: short ways to write tasks, key results, objectives, initiatives."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from okrbridge.domain import (
    Initiative,
    KeyResult,
    KeyResultLink,
    MatchRule,
    Objective,
    Task,
)

Q1_START = date(2025, 1, 1)
Q1_END = date(2025, 3, 31)  # inclusive: the quarter lasts 90 days


def at(day: date, hour: int = 0) -> datetime:
    """A UTC moment on `day`."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def share_of_q1(moment: datetime) -> float:
    """Share of Q1 2025 elapsed at `moment` (for expected values written by hand)."""
    return (moment - at(Q1_START)).total_seconds() / (90 * 86_400)


def task(external_id: str = "1", **values: Any) -> Task:
    values.setdefault("connector", "jira")
    values.setdefault("key", f"ENG-{external_id}")
    return Task(external_id=external_id, **values)


def key_result(**values: Any) -> KeyResult:
    values.setdefault("id", "kr1")
    values.setdefault("title", "Signups")
    values.setdefault("target", 100.0)
    return KeyResult(**values)


def objective(*krs: KeyResult, **values: Any) -> Objective:
    values.setdefault("id", "o1")
    values.setdefault("title", "Grow")
    values.setdefault("start", Q1_START)
    values.setdefault("end", Q1_END)
    return Objective(key_results=list(krs) or [key_result()], **values)


def initiative(
    initiative_id: str = "checkout",
    *rules: MatchRule,
    krs: tuple[str, ...] = ("kr1",),
    **values: Any,
) -> Initiative:
    values.setdefault("title", initiative_id.title())
    return Initiative(
        id=initiative_id,
        key_results=[KeyResultLink(id=kr_id) for kr_id in krs],
        match=list(rules),
        **values,
    )
