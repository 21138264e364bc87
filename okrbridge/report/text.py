"""Words and numbers shared by the report and the dashboard: status titles, values, percents."""

from __future__ import annotations

from okrbridge.domain import KeyResultResult, KRStatus
from okrbridge.sync.comment import format_value, status_title

__all__ = [
    "STATUS_COLOURS",
    "format_value",
    "percent",
    "safe_url",
    "status_css",
    "status_title",
    "value_of",
]

STATUS_COLOURS = {
    KRStatus.ACHIEVED: ("#0b3d91", "#dbe7ff"),
    KRStatus.ON_TRACK: ("#0f5132", "#d1f0dc"),
    KRStatus.NEEDS_ATTENTION: ("#6b4a00", "#fff0c2"),
    KRStatus.OFF_TRACK: ("#842029", "#f8d7da"),
    KRStatus.NOT_STARTED: ("#3d4349", "#e5e7ea"),
}
"""Text and background colour per status; every pair has a contrast ratio above 7:1."""


def status_css(status: KRStatus) -> str:
    """The CSS class of a status badge, e.g. `status-on-track`."""
    return f"status-{status.label_slug}"


def percent(share: float) -> str:
    """A 0..1 share as a whole percent: `0.456` -> `46%`."""
    return f"{share:.0%}"


def value_of(kr: KeyResultResult, value: float | None) -> str:
    """`value` in the key result's metric (`format_value` with the arguments reversed)."""
    return format_value(value, kr)


def safe_url(url: str) -> str:
    """`url` when it is an http(s) URL, else "" (a tool's URL never becomes a script link)."""
    lowered = url.strip().lower()
    if lowered.startswith(("https://", "http://")) and not any(c in url for c in "<> \"'"):
        return url.strip()
    return ""
