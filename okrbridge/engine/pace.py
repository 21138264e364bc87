"""Pace: how far along a key result should be by now, and the status its lag earns.

Dates are whole days in UTC: an objective runs from the start of its `start` day to the end of
its `end` day (both inclusive, so a quarter is written 2025-01-01 .. 2025-03-31), and a plan
checkpoint's value is due by the end of its day. A naive `now` is taken as UTC.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from okrbridge.domain import Direction, KeyResult, KRStatus, Objective

__all__ = [
    "Pace",
    "as_utc",
    "day_end",
    "day_start",
    "elapsed_share",
    "expected_pace",
    "progress_of",
    "reached",
    "status_from_lag",
]

_EPSILON = 1e-9
"""Slack for float comparisons, so 0.3 - 0.2 <= 0.1 holds as people expect."""


@dataclass(frozen=True)
class Pace:
    """What the pace asks for at a moment."""

    expected: float
    """0..1 share of the way from start to target expected by now."""
    elapsed: float
    """0..1 share of the timeframe elapsed."""
    planned_value: float | None = None
    """The value the plan curve expects by now (None without a plan)."""


def as_utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC datetime (naive values are taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def day_end(day: date) -> datetime:
    """The instant the day is over (midnight after it)."""
    return day_start(day) + timedelta(days=1)


def elapsed_share(objective: Objective, now: datetime) -> float:
    """Share (0..1) of the objective's timeframe elapsed at `now`."""
    start, end = day_start(objective.start), day_end(objective.end)
    share = (as_utc(now) - start) / (end - start)
    return min(max(share, 0.0), 1.0)


def progress_of(value: float, start: float, target: float) -> float:
    """Share (0..1, clamped) of the way from `start` to `target` that `value` has gone.

    The same formula serves both directions: from 5% churn toward 3%, a value of 4% is half-way.
    """
    share = (value - start) / (target - start)
    if share != share:  # nan: a non-finite value, start or target measures nothing
        return 0.0
    return min(max(share, 0.0), 1.0)


def reached(value: float, key_result: KeyResult) -> bool:
    """True when `value` is at or past the target, in the key result's direction."""
    if key_result.resolved_direction is Direction.INCREASE:
        return value >= key_result.target
    return value <= key_result.target


def expected_pace(key_result: KeyResult, objective: Objective, now: datetime) -> Pace:
    """The progress expected by `now`: linear over the timeframe, or along `kr.plan`."""
    elapsed = elapsed_share(objective, now)
    if not key_result.plan:
        return Pace(expected=elapsed, elapsed=elapsed)
    planned = _planned_value(key_result, objective, as_utc(now))
    expected = progress_of(planned, key_result.start, key_result.target)
    return Pace(expected=expected, elapsed=elapsed, planned_value=planned)


def _planned_value(key_result: KeyResult, objective: Objective, now: datetime) -> float:
    """The plan curve at `now`: straight lines between (start, kr.start), the checkpoints
    inside the timeframe, and (end, kr.target)."""
    start, end = day_start(objective.start), day_end(objective.end)
    # One value per date, the last written winning (sorting by value too would make the
    # curve depend on the direction).
    planned = {day_end(point.date): point.value for point in key_result.plan}
    inner = sorted((moment, value) for moment, value in planned.items() if start < moment < end)
    points = [(start, key_result.start), *inner, (end, key_result.target)]
    times = [moment for moment, _ in points]
    if now <= start:
        return key_result.start
    if now >= end:
        return key_result.target
    after = bisect_right(times, now)
    (t0, v0), (t1, v1) = points[after - 1], points[after]
    return v0 + (v1 - v0) * ((now - t0) / (t1 - t0))


def status_from_lag(progress: float, expected: float, tolerance: float) -> KRStatus:
    """`on_track` within `tolerance` of the pace, `needs_attention` within twice it,
    else `off_track`. Being ahead of the pace is on track."""
    lag = expected - progress
    if lag <= tolerance + _EPSILON:
        return KRStatus.ON_TRACK
    if lag <= 2 * tolerance + _EPSILON:
        return KRStatus.NEEDS_ATTENTION
    return KRStatus.OFF_TRACK
