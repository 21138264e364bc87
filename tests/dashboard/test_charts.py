"""The SVG chart helpers: round ticks, bounded point counts, escaped text."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from okrbridge.web.dashboard.charts import BurnUp, burn_up_svg, nice_ticks, thin
from tests.dashboard.html import Page

START = datetime(2026, 1, 1, tzinfo=UTC)


@given(
    low=st.floats(-1e6, 1e6, allow_nan=False),
    span=st.floats(1e-3, 1e6, allow_nan=False),
)
def test_ticks_are_evenly_spaced_inside_the_range(low: float, span: float) -> None:
    high = low + span
    ticks = nice_ticks(low, high)
    assert 2 <= len(ticks) <= 11
    assert all(low - 1e-6 * span <= t <= high + 1e-6 * span for t in ticks)
    steps = [b - a for a, b in itertools.pairwise(ticks)]
    slack = 1e-9 * max(abs(low), abs(high))
    assert all(abs(step - steps[0]) <= slack for step in steps)
    assert steps[0] > 0


def test_thin_keeps_at_most_the_limit_and_the_last_point() -> None:
    points = [(START + timedelta(minutes=5 * i), float(i)) for i in range(10_000)]
    kept = thin(points, 200)
    assert len(kept) <= 200
    assert kept[-1] == points[-1]
    assert kept == sorted(kept)
    assert thin(points[:50], 200) == points[:50]


def test_chart_text_is_escaped_and_labelled() -> None:
    chart = BurnUp(
        title='Burn-up of <b>"bold"</b>',
        start=START,
        end=START + timedelta(days=90),
        target=10,
        actual=[(START + timedelta(days=d), float(d) / 10) for d in (5, 20, 40)],
        plan=[(START, 0.0), (START + timedelta(days=90), 10.0)],
        forecast=[],
        now=START + timedelta(days=45),
        label=lambda v: f"{v:.1f} <units>",
        axis_label="<units>",
    )
    svg = str(burn_up_svg(chart))
    assert "<b>" not in svg
    assert "<units>" not in svg
    page = Page(svg)
    assert page.one("title", id="chart-title").text == 'Burn-up of <b>"bold"</b>'
    assert len(page.find("circle", "point")) == 3
    assert page.find("polyline", "forecast") == []
    assert len(page.find("line", "today")) == 1
