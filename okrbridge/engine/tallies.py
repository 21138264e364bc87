"""Tallies kept between evaluations: what one mapped task adds to the sums of its targets.

An initiative's progress and a task-counting key result's value depend on its tasks only
through counts and estimate sums by status category (`progress.TaskTally`). The store keeps
one tally per target and each mapped task's contribution, so a changed task moves the sums
by its old and new contribution instead of every task being counted again.

Estimate sums are floats: adding and subtracting is exact for estimates that are binary
fractions (1, 0.5, 2.25 ...); others may drift by rounding, which `settled` removes.
"""

from __future__ import annotations

from dataclasses import dataclass

from okrbridge.domain import KeyResult, StatusCategory

from .measures import Measure
from .progress import TaskTally
from .reasons import number_text, plural
from .taskview import TaskView, category_of

__all__ = ["Contribution", "add_contribution", "measure_tallied", "settled", "task_count"]

_DIGITS = 9
"""Estimate sums are rounded to this many decimals when read back (removes float drift)."""


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one mapped task adds to each of its targets' tallies."""

    category: StatusCategory
    excluded: bool
    estimate: float | None

    @classmethod
    def of(cls, task: TaskView) -> Contribution:
        return cls(category_of(task), bool(task.excluded), task.estimate)


def add_contribution(tallied: TaskTally, contribution: Contribution, sign: int = 1) -> None:
    """Add (`sign` 1) or take away (`sign` -1) one task's contribution, in place."""
    if contribution.excluded:
        tallied.excluded += sign
        return
    category = contribution.category
    tallied.count[category] += sign
    if contribution.estimate is None:
        tallied.missing[category] += sign
    else:
        tallied.estimate[category] += sign * contribution.estimate


def settled(tallied: TaskTally) -> TaskTally:
    """The tally with its estimate sums rounded to `_DIGITS` decimals (0.0 never -0.0)."""
    for category, value in tallied.estimate.items():
        tallied.estimate[category] = round(value, _DIGITS) + 0.0
    return tallied


def task_count(tallied: TaskTally) -> int:
    """Every mapped task, excluded ones too (an initiative's `task_count`)."""
    return tallied.total + tallied.excluded


def measure_tallied(key_result: KeyResult, tallied: TaskTally | None) -> Measure:
    """`measures.measure_tasks` from the tally of the tasks the key result counts."""
    tallied = tallied or TaskTally()
    counted = tallied.total
    if key_result.aggregate == "count":
        return Measure(float(counted), f"{plural(counted, 'matching task')}")
    total = sum(tallied.estimate[category] for category in StatusCategory)
    text = f"{number_text(total)} points over {plural(counted, 'matching task')}"
    return Measure(total, text)
