"""A key result's current value, from its source: check-ins, initiatives or counted tasks.

For `source = "tasks"` the value is the aggregate itself (the number of matching tasks, or the
sum of their estimates), not an offset from `start`: "done bugs labelled X" from 0 toward 30 is
at 12 when 12 such tasks are done, and "open P1 bugs" from 40 toward 10 is at 25 when 25 are
open. Progress is then (value - start) / (target - start), like any other value. Excluded tasks
do not count; tasks without an estimate add 0 to `sum_estimate`.

For `source = "initiatives"` the value is the weighted mean progress of the linked initiatives
(weights from each initiative's link to the key result) mapped onto start..target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import isfinite

from okrbridge.domain import CheckIn, InitiativeResult, KeyResult

from .reasons import number_text, percent_text, plural, value_text
from .taskview import TaskView

__all__ = ["Measure", "measure_initiatives", "measure_manual", "measure_tasks"]

_NAMED_INITIATIVES = 3
"""Up to this many linked initiatives are named in a reason; more are only counted."""


@dataclass(frozen=True)
class Measure:
    """A key result's current value and how it was obtained, in words."""

    value: float | None
    text: str
    """`3.5% at the check-in of 2025-02-03`, `initiatives 40% done (...)`, `no check-in yet`."""
    shows_progress: bool = False
    """True when `text` already states the progress, so the reason need not repeat it."""


def measure_manual(key_result: KeyResult, latest: CheckIn | None) -> Measure:
    """The value of the latest check-in, or none yet."""
    if latest is None:
        return Measure(value=None, text="no check-in yet")
    shown = value_text(latest.value, key_result.metric, key_result.unit)
    return Measure(latest.value, f"{shown} at the check-in of {latest.at.date().isoformat()}")


def measure_initiatives(
    key_result: KeyResult, links: Sequence[tuple[InitiativeResult, float]]
) -> Measure:
    """Weighted mean progress of the linked initiatives, as a value between start and target."""
    total_weight = sum(weight for _, weight in links)
    if not links or total_weight <= 0:
        return Measure(value=None, text="no initiative is linked")
    share = sum(result.progress * weight for result, weight in links) / total_weight
    value = key_result.start + share * (key_result.target - key_result.start)
    if len(links) == 1:
        # One initiative: its own words ("3 of 8 tasks done (38%)") say it best.
        return Measure(value, links[0][0].reason, shows_progress=True)
    if len(links) <= _NAMED_INITIATIVES:
        detail = ", ".join(f"{r.title} {percent_text(r.progress)}" for r, _ in links)
    else:
        detail = plural(len(links), "initiative")
    return Measure(value, f"initiatives {percent_text(share)} done ({detail})", shows_progress=True)


def measure_tasks(key_result: KeyResult, tasks: Sequence[TaskView]) -> Measure:
    """The number of matching tasks, or the sum of their estimates."""
    counted = [task for task in tasks if not task.excluded]
    if key_result.aggregate == "count":
        return Measure(float(len(counted)), f"{plural(len(counted), 'matching task')}")
    total = sum(task.estimate for task in counted if task.estimate and isfinite(task.estimate))
    text = f"{number_text(total)} points over {plural(len(counted), 'matching task')}"
    return Measure(total, text)
