"""Inline SVG charts drawn on the server: a key result's burn-up (no JavaScript needed).

The burn-up plots the recorded values against the planned pace (a straight line from start to
target over the objective's timeframe, or through the key result's plan checkpoints) and the
forecast (from the current value now to the projected value at the end). Every text is escaped;
the chart carries a `<title>` and `<desc>` and is labelled for screen readers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil, floor, log10

from markupsafe import Markup, escape

from okrbridge.engine.pace import as_utc

__all__ = ["BurnUp", "burn_up_svg", "nice_ticks", "thin"]

Point = tuple[datetime, float]

WIDTH, HEIGHT = 760, 340
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 28, 64
COLOURS = {"actual": "#0b4fb3", "plan": "#4a5361", "forecast": "#a34700", "target": "#1e7b4a"}
"""Line colours, each at least 4.5:1 against white."""
MAX_POINTS = 240
"""More recorded values than this are thinned to the last one per time slice."""


@dataclass(frozen=True)
class BurnUp:
    """What one burn-up chart shows."""

    title: str
    start: datetime
    end: datetime
    target: float
    actual: Sequence[Point]
    plan: Sequence[Point]
    forecast: Sequence[Point]
    now: datetime
    label: Callable[[float], str]
    """Formats a value for point titles and the description (e.g. `1,500 players`)."""
    tick_suffix: str = ""
    """Appended to axis tick numbers (`%` for percent key results)."""
    axis_label: str = ""
    """Written above the value axis (e.g. the unit, `players`)."""


def thin(points: Sequence[Point], limit: int = MAX_POINTS) -> list[Point]:
    """At most `limit` points: the last point of each of `limit` equal time slices."""
    if len(points) <= limit:
        return list(points)
    first, last = as_utc(points[0][0]), as_utc(points[-1][0])
    span = (last - first).total_seconds() or 1.0
    kept: dict[int, Point] = {}
    for moment, value in points:
        slot = min(int((as_utc(moment) - first).total_seconds() / span * limit), limit - 1)
        kept[slot] = (moment, value)
    return [kept[slot] for slot in sorted(kept)]


class _Scale:
    """Maps (moment, value) to SVG coordinates inside the plot area."""

    def __init__(self, chart: BurnUp, low: float, high: float) -> None:
        self.t0 = as_utc(chart.start)
        self.span = (as_utc(chart.end) - self.t0).total_seconds() or 1.0
        self.low, self.high = low, high

    def x(self, moment: datetime) -> float:
        share = (as_utc(moment) - self.t0).total_seconds() / self.span
        return LEFT + min(max(share, 0.0), 1.0) * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        share = (value - self.low) / ((self.high - self.low) or 1.0)
        return TOP + (1.0 - share) * (HEIGHT - TOP - BOTTOM)

    def path(self, points: Sequence[Point]) -> str:
        return " ".join(f"{self.x(t):.1f},{self.y(v):.1f}" for t, v in points)


def _bounds(chart: BurnUp) -> tuple[float, float]:
    values = [chart.target, *(v for _, v in chart.plan), *(v for _, v in chart.actual)]
    values += [v for _, v in chart.forecast]
    low, high = min(values), max(values)
    pad = (high - low) * 0.06 or abs(high) * 0.1 or 1.0
    return low - pad, high + pad


def burn_up_svg(chart: BurnUp) -> Markup:
    """The chart as an inline `<svg>` element."""
    scale = _Scale(chart, *_bounds(chart))
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(chart.title)}</title>',
        f'<desc id="chart-desc">{escape(_describe(chart))}</desc>',
        '<rect x="0" y="0" width="100%" height="100%" fill="#fff"/>',
        *_axes(chart, scale),
        _line(scale.path(chart.plan), "plan", dashed="8 5"),
        _target(chart, scale),
        _line(scale.path(chart.forecast), "forecast", dashed="3 4") if chart.forecast else "",
        _line(scale.path(chart.actual), "actual") if len(chart.actual) > 1 else "",
        *(
            f'<circle class="point" cx="{scale.x(t):.1f}" cy="{scale.y(v):.1f}" r="3.5" '
            f'fill="{COLOURS["actual"]}"><title>{t:%Y-%m-%d %H:%M}: {escape(chart.label(v))}'
            "</title></circle>"
            for t, v in chart.actual
        ),
        *_legend(),
        "</svg>",
    ]
    # Every text above went through `escape`; the rest is numbers and fixed markup.
    return Markup("\n".join(part for part in parts if part))  # noqa: S704


def _describe(chart: BurnUp) -> str:
    text = [f"{len(chart.actual)} recorded values"]
    if chart.actual:
        text.append(f"latest {chart.label(chart.actual[-1][1])}")
    last_day = as_utc(chart.end) - timedelta(seconds=1)
    text.append(f"target {chart.label(chart.target)} by {last_day:%Y-%m-%d}")
    if chart.forecast:
        text.append(f"forecast {chart.label(chart.forecast[-1][1])} at the end")
    return "Burn-up: " + ", ".join(text) + "; dashed grey line: planned pace."


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) within low..high."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / (count - 1)
    magnitude = 10 ** floor(log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _line(points: str, kind: str, dashed: str | None = None) -> str:
    dash = f' stroke-dasharray="{dashed}"' if dashed else ""
    return (
        f'<polyline class="{kind}" points="{points}" fill="none" stroke="{COLOURS[kind]}" '
        f'stroke-width="2.5"{dash}/>'
    )


def _target(chart: BurnUp, scale: _Scale) -> str:
    y = scale.y(chart.target)
    return (
        f'<line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
        f'stroke="{COLOURS["target"]}" stroke-width="1.5" stroke-dasharray="1 3"/>'
    )


def _axes(chart: BurnUp, scale: _Scale) -> list[str]:
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    out = [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#4a5361"/>',
        f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#4a5361"/>',
    ]
    ticks = nice_ticks(scale.low, scale.high)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = next(d for d in range(7) if abs(round(step, d) - step) < 1e-9 or d == 6)
    for value in ticks:
        y = scale.y(value)
        out.append(
            f'<line x1="{LEFT}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e1e4e8"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#3b4350">{value:,.{decimals}f}{escape(chart.tick_suffix)}</text>'
        )
    if chart.axis_label:
        out.append(
            f'<text x="{LEFT - 6}" y="{TOP - 6}" text-anchor="end" font-size="12" '
            f'fill="#3b4350">{escape(chart.axis_label)}</text>'
        )
    # `end` is the instant the timeframe is over (midnight after its last day): label that day.
    last_day = as_utc(chart.end) - timedelta(seconds=1)
    for moment, day, anchor in ((chart.start, chart.start, "start"), (chart.end, last_day, "end")):
        out.append(
            f'<text x="{scale.x(moment):.1f}" y="{bottom + 18}" text-anchor="{anchor}" '
            f'font-size="12" fill="#3b4350">{day:%Y-%m-%d}</text>'
        )
    if as_utc(chart.start) < as_utc(chart.now) < as_utc(chart.end):
        x = scale.x(chart.now)
        out.append(
            f'<line class="today" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{bottom}" '
            f'stroke="#8a6d00" stroke-width="1"/><text x="{x:.1f}" y="{bottom + 18}" '
            f'text-anchor="middle" font-size="12" fill="#6b4a00">today</text>'
        )
    return out


def _legend() -> list[str]:
    y = HEIGHT - 16
    items = (
        ("actual", "recorded value", None),
        ("plan", "planned pace", "8 5"),
        ("forecast", "forecast", "3 4"),
        ("target", "target", "1 3"),
    )
    out = []
    for i, (kind, text, dash) in enumerate(items):
        x = LEFT + i * 160
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{x}" x2="{x + 28}" y1="{y - 4}" y2="{y - 4}" stroke="{COLOURS[kind]}" '
            f'stroke-width="2.5"{dashes}/><text x="{x + 34}" y="{y}" font-size="12" '
            f'fill="#1b1f24">{text}</text>'
        )
    return out
