"""Forecast: a least-squares straight line through a key result's value history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from okrbridge.domain import Forecast

from .pace import as_utc

__all__ = ["linear_forecast"]

_SECONDS_PER_DAY = 86_400.0
_MIN_SLOPE = 1e-12
"""Slope per day below which the trend counts as flat."""


def linear_forecast(
    points: Iterable[tuple[datetime, float]],
    *,
    start: float,
    target: float,
    end: datetime,
    now: datetime,
) -> Forecast | None:
    """Project the value at `end` and the date `target` is reached, from a linear trend.

    `points` are (moment, value) observations, the current value included; repeated moments
    are fine. Returns None with fewer than two distinct moments. `target_date` is None when
    the trend is flat or moves away from the target (`start` gives the direction); a date the
    line already passed is reported as today's date.
    """
    fit = _fit(points)
    if fit is None:
        return None
    origin, slope, intercept = fit
    projected = intercept + slope * _days(as_utc(end) - origin)
    return Forecast(
        projected_value=projected,
        target_date=_target_date(origin, slope, intercept, start, target, as_utc(now)),
    )


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / _SECONDS_PER_DAY


def _fit(points: Iterable[tuple[datetime, float]]) -> tuple[datetime, float, float] | None:
    """(origin, slope per day, value at origin) of the least-squares line, or None."""
    observed = sorted((as_utc(moment), value) for moment, value in points)
    if len(observed) < 2 or observed[0][0] == observed[-1][0]:
        return None
    origin = observed[0][0]
    xs = [_days(moment - origin) for moment, _ in observed]
    ys = [value for _, value in observed]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return origin, slope, mean_y - slope * mean_x


def _target_date(
    origin: datetime, slope: float, intercept: float, start: float, target: float, now: datetime
) -> date | None:
    heading = 1.0 if target > start else -1.0
    if slope * heading <= _MIN_SLOPE:
        return None
    try:
        moment = origin + timedelta(days=(target - intercept) / slope)
    except OverflowError:  # centuries away: not at this pace in any useful sense
        return None
    return max(moment, now).date()
