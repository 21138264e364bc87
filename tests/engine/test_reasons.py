"""Reason pieces: rounding, units, period names."""

from __future__ import annotations

from datetime import date

import pytest

from okrbridge.domain import KRStatus, Metric
from okrbridge.engine import percent_text, status_text, value_text
from okrbridge.engine.reasons import join, number_text, period_name


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (0.375, "38%"),
        (0.0, "0%"),
        (0.001, "<1%"),
        (0.996, "99%"),
        (1.0, "100%"),
        (0.5, "50%"),
        (1.7e308, "n/a"),  # finite, but not as a percent
    ],
)
def test_percent_text(share: float, text: str) -> None:
    assert percent_text(share) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1250.4, "1,250"),
        (250.4, "250"),
        (12.46, "12.5"),
        (12.0, "12"),
        (0.756, "0.76"),
        (3.0, "3"),
        (-0.001, "0"),
        (-1500, "-1,500"),
    ],
)
def test_number_text(value: float, text: str) -> None:
    assert number_text(value) == text


@pytest.mark.parametrize(
    ("value", "metric", "unit", "text"),
    [
        (4.25, Metric.PERCENT, "", "4.25%"),
        (12000, Metric.CURRENCY, "$", "$12,000"),
        (-50, Metric.CURRENCY, "€", "-€50"),
        (12000, Metric.CURRENCY, "EUR", "12,000 EUR"),
        (42, Metric.NUMBER, "signups", "42 signups"),
        (42, Metric.NUMBER, "", "42"),
        (1, Metric.BOOLEAN, "", "yes"),
        (0, Metric.BOOLEAN, "", "no"),
    ],
)
def test_value_text(value: float, metric: Metric, unit: str, text: str) -> None:
    assert value_text(value, metric, unit) == text


@pytest.mark.parametrize(
    ("start", "end", "name"),
    [
        (date(2025, 1, 1), date(2025, 3, 31), "quarter"),
        (date(2025, 4, 1), date(2025, 6, 30), "quarter"),
        (date(2025, 2, 1), date(2025, 2, 28), "month"),
        (date(2025, 1, 1), date(2025, 12, 31), "year"),
        (date(2025, 1, 1), date(2025, 6, 30), "half-year"),
        (date(2025, 1, 1), date(2025, 1, 20), "timeframe"),
    ],
)
def test_period_name(start: date, end: date, name: str) -> None:
    assert period_name(start, end) == name


def test_join_makes_one_line_ending_in_the_status() -> None:
    text = join(["3 of 8 tasks done (38%)", "", "47% of the quarter elapsed"], KRStatus.OFF_TRACK)
    assert text == "3 of 8 tasks done (38%), 47% of the quarter elapsed -> off track"
    assert status_text(KRStatus.NEEDS_ATTENTION) == "needs attention"


def test_join_keeps_a_title_with_a_newline_on_one_line() -> None:
    text = join(["initiatives 40% done (Check\nout 40%, Search  10%)"], KRStatus.ON_TRACK)
    assert text == "initiatives 40% done (Check out 40%, Search 10%) -> on track"
