"""Plain-language pieces of the one-line reasons pushed to tasks and shown on the dashboard.

Numbers are rounded for people: whole percents, at most two decimals for small values,
thousands separators for large ones; percent metrics carry `%`, currency its unit.
"""

from __future__ import annotations

from datetime import date
from math import isfinite

from okrbridge.domain import KRStatus, Metric

__all__ = [
    "join",
    "number_text",
    "percent_text",
    "period_name",
    "plural",
    "status_text",
    "value_text",
]

_STATUS_TEXT = {
    KRStatus.ACHIEVED: "achieved",
    KRStatus.ON_TRACK: "on track",
    KRStatus.NEEDS_ATTENTION: "needs attention",
    KRStatus.OFF_TRACK: "off track",
    KRStatus.NOT_STARTED: "not started",
}

_CURRENCY_SYMBOLS = frozenset("$€£¥₹₩₽₺₪")


def status_text(status: KRStatus) -> str:
    """`on track`, `needs attention`, ..."""
    return _STATUS_TEXT[status]


def percent_text(share: float) -> str:
    """A 0..1 share as a whole percent; never shows 100% short of 1, nor 0% above 0.
    A non-finite share (which the engine never passes), or one too large to show as a
    percent, shows as `n/a`, never raises."""
    scaled = share * 100
    if not isfinite(scaled):
        return "n/a"
    shown = round(scaled)
    if shown >= 100 and share < 1:
        return "99%"
    if shown <= 0 < share:
        return "<1%"
    return f"{shown}%"


def number_text(value: float) -> str:
    """A number rounded for reading: `1,250`, `42`, `12.5`, `0.75` (`n/a` when not finite)."""
    if not isfinite(value):
        return "n/a"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    text = f"{value:.1f}" if size >= 10 else f"{value:.2f}"
    text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def value_text(value: float, metric: Metric, unit: str = "") -> str:
    """A key-result value with its unit: `4.5%`, `$1,200`, `1,200 EUR`, `12 signups`, `yes`."""
    if metric is Metric.BOOLEAN:
        return "yes" if value >= 0.5 else "no"
    shown = number_text(value)
    if metric is Metric.PERCENT:
        return f"{shown}%"
    if metric is Metric.CURRENCY and unit in _CURRENCY_SYMBOLS:
        return f"-{unit}{shown[1:]}" if shown.startswith("-") else f"{unit}{shown}"
    return f"{shown} {unit}" if unit else shown


def period_name(start: date, end: date) -> str:
    """What to call a timeframe (both ends inclusive): `quarter`, `month`, ... `timeframe`."""
    days = (end - start).days + 1
    for name, low, high in (
        ("week", 7, 7),
        ("month", 28, 31),
        ("quarter", 89, 92),
        ("half-year", 181, 184),
        ("year", 365, 366),
    ):
        if low <= days <= high:
            return name
    return "timeframe"


def plural(count: int, word: str) -> str:
    """`1 task`, `3 tasks`."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def join(parts: list[str], status: KRStatus) -> str:
    """The one-line reason: the facts, comma-separated, then `-> <status>`.

    Whitespace runs (a newline in a title) become one space: the line goes into tool comments.
    """
    facts = ", ".join(" ".join(part.split()) for part in parts if part)
    return f"{facts} -> {status_text(status)}"
