"""A key result's status from its value and the pace, with the reason in one line.

- `not_started` before the objective's start, and while there is no value (no check-in yet).
- `achieved` at or past the target.
- Otherwise by lag = expected progress - progress: within the tolerance `on_track`, within
  twice it `needs_attention`, beyond that `off_track`.
- With `confidence_overrides`, the confidence of the latest check-in replaces the computed
  status until the next check-in (a check-in without confidence clears it). A reached target
  stays `achieved`: confidence is about getting there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from okrbridge.domain import (
    CheckIn,
    Forecast,
    KeyResult,
    KeyResultResult,
    KRStatus,
    Objective,
)

from .finite import finite_or, measurable
from .forecast import history_shortfall, linear_forecast, plausible_bounds
from .measures import Measure
from .pace import (
    Pace,
    as_utc,
    day_end,
    day_start,
    expected_pace,
    progress_of,
    reached,
    status_from_lag,
)
from .reasons import join, percent_text, period_name, status_text, value_text

__all__ = ["Assessment", "assess_key_result"]


@dataclass(frozen=True)
class Assessment:
    """Everything besides the measure that a key result's status depends on."""

    now: datetime
    tolerance: float
    """Global default; a key result's own `tolerance` wins."""
    confidence_overrides: bool = True
    latest_checkin: CheckIn | None = None
    history: Sequence[tuple[datetime, float]] = ()
    initiative_ids: tuple[str, ...] = ()


def assess_key_result(
    key_result: KeyResult, objective: Objective, measure: Measure, context: Assessment
) -> KeyResultResult:
    """Progress, expected progress, status, reason and forecast of one key result.

    A key result whose start or target is not a finite number (or that has them equal) stays
    `not_started` and says so;
    a non-finite measured value counts as no value.
    """
    now = as_utc(context.now)
    if not measurable(key_result):
        return _unmeasurable(key_result, objective, context)
    if measure.value is not None and not math.isfinite(measure.value):
        measure = Measure(value=None, text="the value is not a finite number")
    tolerance = key_result.tolerance if key_result.tolerance is not None else context.tolerance
    pace = expected_pace(key_result, objective, now)
    value = measure.value
    progress = 0.0 if value is None else progress_of(value, key_result.start, key_result.target)
    status, reason = _computed(key_result, objective, measure, progress, pace, tolerance, now)
    status, reason = _override(status, reason, context)
    forecast, forecast_note = _forecast(key_result, objective, value, context)
    return KeyResultResult(
        id=key_result.id,
        objective_id=objective.id,
        title=key_result.title,
        value=value,
        start=key_result.start,
        target=key_result.target,
        unit=key_result.unit,
        metric=key_result.metric,
        progress=progress,
        expected_progress=pace.expected,
        status=status,
        reason=reason,
        forecast=forecast,
        forecast_note=forecast_note,
        initiative_ids=context.initiative_ids,
    )


def _unmeasurable(
    key_result: KeyResult, objective: Objective, context: Assessment
) -> KeyResultResult:
    reason = (
        "start or target is not a finite number (or they are equal), so progress cannot be "
        "measured; fix them in the configuration"
    )
    return KeyResultResult(
        id=key_result.id,
        objective_id=objective.id,
        title=key_result.title,
        value=None,
        start=finite_or(key_result.start, 0.0),
        target=finite_or(key_result.target, 0.0),
        unit=key_result.unit,
        metric=key_result.metric,
        progress=0.0,
        expected_progress=0.0,
        status=KRStatus.NOT_STARTED,
        reason=join([reason], KRStatus.NOT_STARTED),
        initiative_ids=context.initiative_ids,
    )


def _computed(
    key_result: KeyResult,
    objective: Objective,
    measure: Measure,
    progress: float,
    pace: Pace,
    tolerance: float,
    now: datetime,
) -> tuple[KRStatus, str]:
    period = period_name(objective.start, objective.end)
    if now < day_start(objective.start):
        starts = f"the {period} starts on {objective.start.isoformat()}"
        return KRStatus.NOT_STARTED, join([measure.text, starts], KRStatus.NOT_STARTED)
    if measure.value is None:
        return KRStatus.NOT_STARTED, join([measure.text], KRStatus.NOT_STARTED)
    parts = [measure.text]
    if reached(measure.value, key_result):
        parts.append(f"target {_shown(key_result, key_result.target)} reached")
        return KRStatus.ACHIEVED, join(parts, KRStatus.ACHIEVED)
    if not measure.shows_progress:
        parts.append(
            f"{percent_text(progress)} of the way from {_shown(key_result, key_result.start)} "
            f"to {_shown(key_result, key_result.target)}"
        )
    parts.append(_pace_text(key_result, objective, pace, period))
    parts.append(f"tolerance {percent_text(tolerance)}")
    status = status_from_lag(progress, pace.expected, tolerance)
    return status, join(parts, status)


def _pace_text(key_result: KeyResult, objective: Objective, pace: Pace, period: str) -> str:
    if pace.planned_value is not None:
        planned = _shown(key_result, pace.planned_value)
        return f"plan expects {planned} by now ({percent_text(pace.expected)} of the way)"
    if pace.elapsed >= 1:
        return f"the {period} ended on {objective.end.isoformat()}"
    return f"{percent_text(pace.elapsed)} of the {period} elapsed"


def _shown(key_result: KeyResult, value: float) -> str:
    return value_text(value, key_result.metric, key_result.unit)


def _override(status: KRStatus, reason: str, context: Assessment) -> tuple[KRStatus, str]:
    checkin = context.latest_checkin
    if (
        not context.confidence_overrides
        or checkin is None
        or checkin.confidence is None
        or status is KRStatus.ACHIEVED
        or checkin.confidence is status
    ):
        return status, reason
    said = status_text(checkin.confidence)
    return checkin.confidence, (
        f"{reason} by pace, but the check-in of {checkin.at.date().isoformat()} says {said}"
    )


def _forecast(
    key_result: KeyResult, objective: Objective, value: float | None, context: Assessment
) -> tuple[Forecast | None, str | None]:
    """The forecast, or None with the reason when the history is too thin to make one."""
    if value is None or not math.isfinite(value):
        return None, None
    now = as_utc(context.now)
    points = [
        (moment, past)
        for moment, past in context.history
        if as_utc(moment) <= now and math.isfinite(past)
    ]
    points.append((now, value))
    timeframe_start, end = day_start(objective.start), day_end(objective.end)
    shortfall = history_shortfall(
        (moment for moment, _ in points), timeframe_start=timeframe_start, end=end
    )
    if shortfall is not None:
        return None, shortfall
    bounds = plausible_bounds(
        start=key_result.start,
        target=key_result.target,
        metric=key_result.metric,
        source=key_result.source,
        observed=[past for _, past in points],
    )
    forecast = linear_forecast(
        points,
        start=key_result.start,
        target=key_result.target,
        end=end,
        now=now,
        bounds=bounds,
        latest_date=(end + (end - timeframe_start)).date(),
    )
    if forecast is None:  # values so extreme that the line overflows
        return None, "no forecast: the recorded values give no usable trend"
    return forecast, None
