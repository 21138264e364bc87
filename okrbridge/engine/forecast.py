"""Forecast: a least-squares straight line through a key result's value history.

A forecast is printed only when it is worth reading, by two rules:

- **Enough history.** The observations (the current value included) must fall on at least
  `MIN_HISTORY_DAYS` (3) distinct UTC days and span at least `MIN_HISTORY_SHARE` (10%) of the
  objective's timeframe. Two evaluations minutes apart make a line through noise, which once
  projected 18,409% for a percent metric. Until then the key result carries a note, "not enough
  history yet", instead of a forecast.
- **A plausible projection.** The projected value is clamped to what the metric allows and to
  a plausible distance: no further past the target than the target is from the start
  (`target + (target - start)`), no further behind the start than that either, widened to
  include the current value. Percent metrics stay within 0..100, booleans are 0 or 1, and a
  key result that counts tasks, or whose start, target and observed values are all >= 0, never
  projects below 0. A target date later than one more timeframe after the end is not given.

Non-finite observations (nan, inf) are ignored; a projection is never nan or inf.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from okrbridge.domain import Forecast, KeyResultSource, Metric

from .pace import as_utc

__all__ = [
    "MIN_HISTORY_DAYS",
    "MIN_HISTORY_SHARE",
    "NOT_ENOUGH_HISTORY",
    "ForecastBounds",
    "history_shortfall",
    "linear_forecast",
    "plausible_bounds",
]

MIN_HISTORY_DAYS = 3
"""Distinct UTC days the observations must fall on before a forecast is made."""
MIN_HISTORY_SHARE = 0.1
"""Share of the objective's timeframe the observations must span before a forecast is made."""
NOT_ENOUGH_HISTORY = "not enough history yet"

_SECONDS_PER_DAY = 86_400.0
_MIN_SLOPE = 1e-12
"""Slope per day below which the trend counts as flat."""


@dataclass(frozen=True)
class ForecastBounds:
    """The range a projected value is clamped into (both ends included, both finite)."""

    low: float
    high: float
    whole: bool = False
    """Round the projection to a whole number (booleans: 0 or 1)."""

    def clamp(self, value: float) -> float:
        if math.isnan(value):
            return self.low
        clamped = min(max(value, self.low), self.high)
        return float(round(clamped)) if self.whole else clamped


def plausible_bounds(
    *,
    start: float,
    target: float,
    metric: Metric,
    source: KeyResultSource,
    observed: Sequence[float] = (),
) -> ForecastBounds:
    """Where a projection of this key result may land (see the module docstring)."""
    span = target - start
    ends = (start - span, target + span)
    values = [v for v in observed if math.isfinite(v)]
    low, high = min(*ends, *values), max(*ends, *values)
    if metric is Metric.PERCENT:
        low, high = max(low, 0.0), min(high, 100.0)
    elif metric is Metric.BOOLEAN:
        return ForecastBounds(0.0, 1.0, whole=True)
    if source is KeyResultSource.TASKS or min(start, target, *values) >= 0:
        low = max(low, 0.0)
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        # Only reachable with extreme inputs (a span that overflows): keep the ends.
        low, high = min(start, target), max(start, target)
    return ForecastBounds(low, high)


def history_shortfall(
    moments: Iterable[datetime], *, timeframe_start: datetime, end: datetime
) -> str | None:
    """None when the observations at `moments` are enough to forecast, else why not, in words
    (`not enough history yet (2 of 3 days)`)."""
    seen = sorted(as_utc(moment) for moment in moments)
    days = len({moment.date() for moment in seen})
    needed = (as_utc(end) - as_utc(timeframe_start)) * MIN_HISTORY_SHARE
    spanned = seen[-1] - seen[0] if seen else timedelta(0)
    if days < MIN_HISTORY_DAYS:
        return f"{NOT_ENOUGH_HISTORY} ({days} of {MIN_HISTORY_DAYS} days)"
    if spanned < needed:
        return f"{NOT_ENOUGH_HISTORY} (it spans {_span_text(spanned)} of {_span_text(needed)})"
    return None


def _span_text(span: timedelta) -> str:
    days = span.total_seconds() / _SECONDS_PER_DAY
    return f"{days:.0f} day{'s' if round(days) != 1 else ''}" if days >= 1 else "under a day"


def linear_forecast(
    points: Iterable[tuple[datetime, float]],
    *,
    start: float,
    target: float,
    end: datetime,
    now: datetime,
    bounds: ForecastBounds | None = None,
    latest_date: date | None = None,
) -> Forecast | None:
    """Project the value at `end` and the date `target` is reached, from a linear trend.

    `points` are (moment, value) observations, the current value included; repeated moments
    are fine, non-finite values are ignored. Returns None with fewer than two distinct moments.
    `target_date` is None when the trend is flat or moves away from the target (`start` gives
    the direction), or would land after `latest_date`; a date the line already passed is
    reported as today's date. With `bounds`, the projected value is clamped into them.
    """
    fit = _fit(points)
    if fit is None:
        return None
    origin, slope, intercept = fit
    projected = intercept + slope * _days(as_utc(end) - origin)
    if bounds is not None:
        projected = bounds.clamp(projected)
    if not math.isfinite(projected):
        return None
    when = _target_date(origin, slope, intercept, start, target, as_utc(now))
    if when is not None and latest_date is not None and when > latest_date:
        when = None
    return Forecast(projected_value=projected, target_date=when)


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / _SECONDS_PER_DAY


def _fit(points: Iterable[tuple[datetime, float]]) -> tuple[datetime, float, float] | None:
    """(origin, slope per day, value at origin) of the least-squares line, or None."""
    observed = sorted((as_utc(moment), value) for moment, value in points if math.isfinite(value))
    if len(observed) < 2 or observed[0][0] == observed[-1][0]:
        return None
    origin = observed[0][0]
    xs = [_days(moment - origin) for moment, _ in observed]
    ys = [value for _, value in observed]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    intercept = mean_y - slope * mean_x
    if not (math.isfinite(slope) and math.isfinite(intercept)):
        return None
    return origin, slope, intercept


def _target_date(
    origin: datetime, slope: float, intercept: float, start: float, target: float, now: datetime
) -> date | None:
    heading = 1.0 if target > start else -1.0
    if slope * heading <= _MIN_SLOPE:
        return None
    days = (target - intercept) / slope
    if not math.isfinite(days):
        return None
    try:
        moment = origin + timedelta(days=days)
    except OverflowError:  # centuries away: not at this pace in any useful sense
        return None
    return max(moment, now).date()
