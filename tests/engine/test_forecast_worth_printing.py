"""Forecasts worth printing: enough history first, then a projection the metric allows."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from okrbridge.domain import CheckIn, KeyResultResult, KeyResultSource, Metric
from okrbridge.engine import evaluate
from okrbridge.engine.forecast import (
    MIN_HISTORY_DAYS,
    history_shortfall,
    plausible_bounds,
)
from tests.engine.builders import Q1_START, at, key_result, objective

DAY0 = at(Q1_START)


def days(n: float) -> datetime:
    return DAY0 + timedelta(days=n)


def _result(
    kr_values: dict[str, object], history: list[tuple[datetime, float]], now: datetime, value: float
) -> KeyResultResult:
    kr = key_result(**kr_values)
    checkin = CheckIn(key_result_id=kr.id, value=value, at=now)
    evaluation = evaluate([objective(kr)], [], [], [checkin], {kr.id: history}, now=now)
    return evaluation.key_results[kr.id]


def test_two_evaluations_minutes_apart_give_no_forecast_but_say_why() -> None:
    # The field report: 18,409% for a percent metric from two points minutes apart.
    now = days(30)
    result = _result(
        {"metric": Metric.PERCENT, "start": 10, "target": 40},
        [(now - timedelta(minutes=3), 11.0)],
        now,
        25.0,
    )
    assert result.forecast is None
    assert result.forecast_note is not None
    assert result.forecast_note.startswith("not enough history yet")
    assert "2 of 3 days" in result.forecast_note


def test_three_days_within_a_few_hours_of_the_timeframe_are_still_not_enough() -> None:
    now = days(2)  # three distinct days, but 2 days is under 10% of a 90-day quarter
    history = [(days(0), 0.0), (days(1), 5.0)]
    result = _result({}, history, now, 10.0)
    assert result.forecast is None
    assert result.forecast_note == "not enough history yet (it spans 2 days of 9 days)"


def test_enough_history_gives_a_forecast_and_no_note() -> None:
    history = [(days(d), float(d)) for d in range(0, 20, 5)]
    result = _result({}, history, days(20), 20.0)
    assert result.forecast is not None
    assert result.forecast_note is None
    assert math.isclose(result.forecast.projected_value, 90.0)


def test_a_percent_projection_stays_within_0_and_100() -> None:
    # A steep trend would project far past 100%; the target 40 also caps it at 70.
    history = [(days(0), 0.0), (days(5), 30.0), (days(9), 39.0)]
    result = _result({"metric": Metric.PERCENT, "start": 10, "target": 40}, history, days(10), 39.5)
    assert result.forecast is not None
    assert result.forecast.projected_value == 70.0  # target + (target - start)


def test_a_count_is_never_projected_below_zero() -> None:
    history = [(days(0), 40.0), (days(5), 20.0), (days(9), 5.0)]
    result = _result({"start": 0, "target": 50}, history, days(10), 3.0)
    assert result.forecast is not None
    assert result.forecast.projected_value == 0.0
    assert result.forecast.target_date is None


def test_a_boolean_projects_zero_or_one() -> None:
    history = [(days(0), 0.0), (days(5), 0.0), (days(9), 1.0)]
    result = _result({"metric": Metric.BOOLEAN, "start": 0, "target": 1}, history, days(10), 1.0)
    assert result.forecast is not None
    assert result.forecast.projected_value in (0.0, 1.0)


def test_bounds_follow_the_direction_and_include_the_current_value() -> None:
    falling = plausible_bounds(
        start=5, target=3, metric=Metric.PERCENT, source=KeyResultSource.MANUAL
    )
    assert (falling.low, falling.high) == (1.0, 7.0)
    beyond = plausible_bounds(
        start=0, target=10, metric=Metric.NUMBER, source=KeyResultSource.MANUAL, observed=[35.0]
    )
    assert (beyond.low, beyond.high) == (0.0, 35.0)
    signed = plausible_bounds(
        start=-10, target=10, metric=Metric.NUMBER, source=KeyResultSource.MANUAL
    )
    assert (signed.low, signed.high) == (-30.0, 30.0)


def test_history_shortfall_counts_distinct_utc_days() -> None:
    end = days(90)
    same_day = [days(10) + timedelta(minutes=m) for m in range(0, 600, 5)]
    assert history_shortfall(same_day, timeframe_start=DAY0, end=end) == (
        f"not enough history yet (1 of {MIN_HISTORY_DAYS} days)"
    )
    assert history_shortfall([days(0), days(5), days(10)], timeframe_start=DAY0, end=end) is None


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
values = st.one_of(finite, finite.map(lambda v: v / 1e7), st.floats())  # nan and inf too
metrics = st.sampled_from(list(Metric))
sources = st.sampled_from([KeyResultSource.MANUAL, KeyResultSource.TASKS])


@st.composite
def ends(draw: st.DrawFn, metric: Metric) -> tuple[float, float]:
    """A start and a target the config accepts for `metric`."""
    if metric is Metric.BOOLEAN:
        return draw(st.sampled_from([(0.0, 1.0), (1.0, 0.0)]))
    bound = st.floats(0, 100) if metric is Metric.PERCENT else st.one_of(finite, st.floats(-50, 50))
    start, target = draw(bound), draw(bound)
    if start == target:
        target = start + 1 if metric is not Metric.PERCENT or start < 100 else start - 1
    return start, target


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    metric=metrics,
    source=sources,
    history=st.lists(st.tuples(st.floats(-5, 120), values), max_size=30),
    now_day=st.floats(min_value=0, max_value=100),
    value=values,
)
def test_any_history_gives_a_bounded_finite_forecast_or_a_note(
    data: st.DataObject,
    metric: Metric,
    source: KeyResultSource,
    history: list[tuple[float, float]],
    now_day: float,
    value: float,
) -> None:
    start, target = data.draw(ends(metric))
    kr_values: dict[str, object] = {"start": start, "target": target, "metric": metric}
    if source is KeyResultSource.TASKS:
        if start < 0 or target < 0:
            return
        kr_values |= {"source": source, "tasks": {"labels_any": ["x"]}}
    kr = key_result(**kr_values)
    now = days(now_day)
    points = [(days(d), v) for d, v in history]
    # A task-counting key result takes its value from tasks (here: none, so 0).
    checkins = [CheckIn(key_result_id=kr.id, value=value, at=now)] if math.isfinite(value) else []
    result = evaluate([objective(kr)], [], [], checkins, {kr.id: points}, now=now).key_results[
        kr.id
    ]
    forecast = result.forecast
    event("forecast" if forecast is not None else "none")
    if forecast is None:
        assert result.value is None or result.forecast_note is not None
        return
    projected = forecast.projected_value
    assert math.isfinite(projected)
    assert result.forecast_note is None
    observed = [v for _, v in points if math.isfinite(v)] + [result.value or 0.0]
    span = abs(target - start)
    assert min(start, target) - span - 1e-6 * span <= projected or projected >= min(observed)
    assert projected <= max(start, target) + span + 1e-6 * span or projected <= max(observed)
    if metric is Metric.PERCENT:
        assert 0.0 <= projected <= 100.0
    if metric is Metric.BOOLEAN:
        assert projected in (0.0, 1.0)
    if source is KeyResultSource.TASKS or min(start, target, *observed) >= 0:
        assert projected >= 0.0
    if forecast.target_date is not None:
        assert forecast.target_date >= now.date()
        assert forecast.target_date <= date(2025, 7, 1)
