"""The push's ETA: from the observed rate, never faster than the write budget allows."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from okrbridge.cli.sync import RichObserver, _eta_column, eta_seconds


def test_the_eta_is_capped_by_the_write_budget() -> None:
    # 100 writes a minute: an early burst of 10 changes a second must not promise minutes.
    assert eta_seconds(6_000, speed=10.0, limit=100 / 60) == 3_600
    assert eta_seconds(6_000, speed=0.5, limit=100 / 60) == 12_000  # slower than the budget
    assert eta_seconds(6_000, speed=None, limit=100 / 60) == 3_600  # before any rate is seen
    assert eta_seconds(6_000, speed=None, limit=None) is None
    assert eta_seconds(0, speed=None, limit=None) == 0.0


def test_the_push_bar_shows_the_budget_eta_from_its_first_change() -> None:
    console = Console(file=io.StringIO(), width=100, force_terminal=True)
    with Progress(_eta_column(), console=console, auto_refresh=False) as progress:
        observer = RichObserver(progress, {"jira": 100 / 60})
        observer.pull_started("jira", full=False)
        observer.push_progress("jira", 0, 66_000)  # 66k changes at 100 writes/min: 11 h
        (push,) = (t for t in progress.tasks if t.total == 66_000)
        rendered = _eta_column().render(push)
    assert rendered.plain == "ETA 11:00:00"
