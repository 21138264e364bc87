"""Initiative progress from its mapped tasks, in the mode each initiative chooses.

- `count`: done tasks / tasks.
- `estimate`: done estimate / total estimate; a task without an estimate counts as the
  initiative's `default_estimate` (if every estimate is 0, falls back to `count`).
- `weighted`: credit per status category (default todo 0, in progress 0.5, done 1), divided by
  the largest weight so that all-done is 100%.
- `target`: done tasks against a fixed target, capped at 100%.

Excluded tasks (closed as not planned) are left out entirely; no counted task gives 0%.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from math import isfinite

from okrbridge.domain import (
    Initiative,
    InitiativeProgressMode,
    InitiativeResult,
    StatusCategory,
    TaskAggregate,
)

from .reasons import number_text, percent_text, plural
from .taskview import CATEGORY_BY_VALUE, TaskView

__all__ = ["DEFAULT_WEIGHTS", "TaskTally", "initiative_progress", "tally"]

DEFAULT_WEIGHTS = {
    StatusCategory.TODO: 0.0,
    StatusCategory.IN_PROGRESS: 0.5,
    StatusCategory.DONE: 1.0,
}


@dataclass
class TaskTally:
    """What progress needs from a list of tasks, summed by status category."""

    count: dict[StatusCategory, int] = field(
        default_factory=lambda: dict.fromkeys(StatusCategory, 0)
    )
    estimate: dict[StatusCategory, float] = field(
        default_factory=lambda: dict.fromkeys(StatusCategory, 0.0)
    )
    missing: dict[StatusCategory, int] = field(
        default_factory=lambda: dict.fromkeys(StatusCategory, 0)
    )
    """Tasks without an estimate."""
    excluded: int = 0

    @property
    def total(self) -> int:
        return sum(self.count.values())

    def aggregate(self) -> TaskAggregate:
        return TaskAggregate(
            todo=self.count[StatusCategory.TODO],
            in_progress=self.count[StatusCategory.IN_PROGRESS],
            done=self.count[StatusCategory.DONE],
        )


_CATEGORIES = list(StatusCategory)
_SLOTS = {value: _CATEGORIES.index(category) for value, category in CATEGORY_BY_VALUE.items()}
"""Status category (member or value) -> position in `_CATEGORIES`; unknown values are todo."""


def tally(tasks: Sequence[TaskView]) -> TaskTally:
    """Count tasks and sum estimates by status category, leaving excluded tasks out."""
    # Plain lists indexed by slot in the loop: it runs once per mapped task.
    count, estimate, missing = [0, 0, 0], [0.0, 0.0, 0.0], [0, 0, 0]
    slots = _SLOTS
    excluded = 0
    for task in tasks:
        if task.excluded:
            excluded += 1
            continue
        slot = slots.get(task.status_category, 0)
        count[slot] += 1
        value = task.estimate
        if value is None or not isfinite(value):  # a nan/inf estimate counts as missing
            missing[slot] += 1
        else:
            estimate[slot] += value
    return TaskTally(
        count=dict(zip(_CATEGORIES, count, strict=True)),
        estimate=dict(zip(_CATEGORIES, estimate, strict=True)),
        missing=dict(zip(_CATEGORIES, missing, strict=True)),
        excluded=excluded,
    )


def initiative_progress(initiative: Initiative, tasks: Sequence[TaskView]) -> InitiativeResult:
    """Progress (0..1) of `initiative` over its mapped `tasks`, with a one-line reason.

    `task_count` counts every mapped task, excluded ones too; `counts` only those counted.
    """
    tallied = tally(tasks)
    if tallied.total == 0:
        progress, reason = 0.0, "no tasks are mapped"
    else:
        progress, reason = _MODES[initiative.progress](initiative, tallied)
        progress = min(max(progress, 0.0), 1.0)
    if tallied.excluded:
        reason += f" ({tallied.excluded} not planned, left out)"
    return InitiativeResult(
        id=initiative.id,
        title=initiative.title,
        progress=progress,
        counts=tallied.aggregate(),
        task_count=len(tasks),
        reason=reason,
    )


def _by_count(initiative: Initiative, tallied: TaskTally) -> tuple[float, str]:
    done, total = tallied.count[StatusCategory.DONE], tallied.total
    share = done / total
    return share, f"{done} of {plural(total, 'task')} done ({percent_text(share)})"


def _by_estimate(initiative: Initiative, tallied: TaskTally) -> tuple[float, str]:
    default = initiative.default_estimate

    def points(category: StatusCategory) -> float:
        return tallied.estimate[category] + tallied.missing[category] * default

    total = sum(points(category) for category in StatusCategory)
    if total <= 0:
        share, text = _by_count(initiative, tallied)
        return share, f"{text}, counted by tasks as estimates sum to 0"
    done = points(StatusCategory.DONE)
    share = done / total
    text = f"{number_text(done)} of {number_text(total)} points done ({percent_text(share)})"
    missing = sum(tallied.missing.values())
    if missing:
        text += f", {plural(missing, 'task')} without estimate counted as {number_text(default)}"
    return share, text


def _by_weight(initiative: Initiative, tallied: TaskTally) -> tuple[float, str]:
    weights = {**DEFAULT_WEIGHTS, **initiative.weights}
    top = max(weights.values())
    credit = sum(weights[category] * n for category, n in tallied.count.items())
    share = credit / (top * tallied.total) if top > 0 else 0.0
    count = tallied.count
    text = (
        f"{count[StatusCategory.DONE]} done, {count[StatusCategory.IN_PROGRESS]} in progress, "
        f"{count[StatusCategory.TODO]} to do ({percent_text(min(max(share, 0.0), 1.0))} weighted)"
    )
    return share, text


def _by_target(initiative: Initiative, tallied: TaskTally) -> tuple[float, str]:
    target = initiative.target or 1  # validated present in `target` mode
    done = tallied.count[StatusCategory.DONE]
    share = min(done / target, 1.0)
    return share, f"{done} of {target} target tasks done ({percent_text(share)})"


_MODES = {
    InitiativeProgressMode.COUNT: _by_count,
    InitiativeProgressMode.ESTIMATE: _by_estimate,
    InitiativeProgressMode.WEIGHTED: _by_weight,
    InitiativeProgressMode.TARGET: _by_target,
}
