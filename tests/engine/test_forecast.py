"""Least-squares forecast: projected value and the date the target is reached."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from okrbridge.engine import linear_forecast
from tests.engine.builders import at

DAY0 = at(date(2025, 1, 1))
END = at(date(2025, 4, 1))  # 90 days after DAY0


def days(n: float) -> datetime:
    return DAY0 + timedelta(days=n)


def test_points_on_a_known_line_project_exactly() -> None:
    # value = 10 + 2 * day
    points = [(days(d), 10 + 2 * d) for d in (0, 5, 10, 20)]
    forecast = linear_forecast(points, start=0, target=100, end=END, now=days(20))
    assert forecast is not None
    assert forecast.projected_value == pytest.approx(10 + 2 * 90)
    assert forecast.target_date == date(2025, 2, 15)  # day 45: 10 + 2 * 45 = 100


def test_noisy_points_use_the_least_squares_line() -> None:
    # Scattered points: the fit is the least-squares line, not the line through the ends.
    points = [(days(0), 1.0), (days(1), 0.0), (days(2), 3.0), (days(3), 2.0)]
    forecast = linear_forecast(points, start=0, target=1000, end=END, now=days(3))
    assert forecast is not None
    # Sxy = 3, Sxx = 5 around the means (1.5, 1.5): slope 0.6, intercept 0.6
    assert forecast.projected_value == pytest.approx(0.6 + 0.6 * 90)


def test_decreasing_target_reached_when_trend_goes_down() -> None:
    points = [(days(0), 5.0), (days(10), 4.5)]
    forecast = linear_forecast(points, start=5, target=3, end=END, now=days(10))
    assert forecast is not None
    assert forecast.projected_value == pytest.approx(5 - 0.05 * 90)
    assert forecast.target_date == (DAY0 + timedelta(days=40)).date()


def test_trend_away_from_target_has_no_date() -> None:
    points = [(days(0), 5.0), (days(10), 5.5)]
    forecast = linear_forecast(points, start=5, target=3, end=END, now=days(10))
    assert forecast is not None
    assert forecast.projected_value == pytest.approx(5 + 0.05 * 90)
    assert forecast.target_date is None


def test_flat_trend_has_no_date() -> None:
    points = [(days(0), 7.0), (days(10), 7.0)]
    forecast = linear_forecast(points, start=0, target=10, end=END, now=days(10))
    assert forecast is not None
    assert forecast.projected_value == pytest.approx(7)
    assert forecast.target_date is None


@pytest.mark.parametrize("count", [0, 1, 3])
def test_fewer_than_two_distinct_moments_gives_no_forecast(count: int) -> None:
    points = [(days(4), float(n)) for n in range(count)]
    assert linear_forecast(points, start=0, target=10, end=END, now=days(4)) is None


def test_identical_timestamps_are_averaged_by_the_fit() -> None:
    points = [(days(0), 0.0), (days(0), 2.0), (days(10), 11.0)]
    forecast = linear_forecast(points, start=0, target=100, end=END, now=days(10))
    assert forecast is not None
    # Same line as through (0, 1) and (10, 11): value = 1 + day.
    assert forecast.projected_value == pytest.approx(91)
    assert forecast.target_date == (DAY0 + timedelta(days=99)).date()


def test_a_date_already_passed_by_the_line_is_today() -> None:
    points = [(days(0), 0.0), (days(10), 100.0), (days(20), 100.0)]
    forecast = linear_forecast(points, start=0, target=50, end=END, now=days(20))
    assert forecast is not None
    assert forecast.target_date == days(20).date()


def test_a_date_centuries_away_is_none() -> None:
    points = [(days(0), 0.0), (days(10), 1e-9)]
    forecast = linear_forecast(points, start=0, target=1e9, end=END, now=days(10))
    assert forecast is not None
    assert forecast.target_date is None
