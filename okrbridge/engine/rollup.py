"""An objective's status and progress from its key results.

Progress is the weighted mean of key-result progress (`kr.weight`). Status, by `rollup`:
- `worst` (default): the worst key-result status by severity; `on_track` wins a tie with
  `not_started` as long as one key result has started.
- `weighted`: weighted mean progress against weighted mean expected progress, with the global
  tolerance; key results not started are left out of both means.
Either way: all not started (or before the objective's start) gives `not_started`, all achieved
gives `achieved`. A key result's confidence override counts in `worst`, not in `weighted`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from okrbridge.domain import KeyResultResult, KRStatus, Objective, ObjectiveResult, ObjectiveRollup

from .pace import as_utc, day_start, status_from_lag
from .reasons import join, percent_text, period_name, plural, status_text

__all__ = ["assess_objective"]

_ORDER = (
    KRStatus.ACHIEVED,
    KRStatus.ON_TRACK,
    KRStatus.NEEDS_ATTENTION,
    KRStatus.OFF_TRACK,
    KRStatus.NOT_STARTED,
)


def assess_objective(
    objective: Objective,
    results: Sequence[KeyResultResult],
    *,
    now: datetime,
    tolerance: float,
) -> ObjectiveResult:
    """Roll the key results of `objective` (in its order) up into its status and progress."""
    weights = [kr.weight for kr in objective.key_results]
    progress = _mean([r.progress for r in results], weights)
    status, reason = _status(objective, results, weights, as_utc(now), tolerance)
    return ObjectiveResult(
        id=objective.id,
        title=objective.title,
        owner=objective.owner,
        start=objective.start,
        end=objective.end,
        status=status,
        progress=progress,
        reason=reason,
        key_results=tuple(results),
    )


def _mean(values: Sequence[float], weights: Sequence[float]) -> float:
    total = sum(weights)
    if total <= 0:
        return 0.0
    mean = sum(value * weight for value, weight in zip(values, weights, strict=True)) / total
    return min(max(mean, 0.0), 1.0)


def _status(
    objective: Objective,
    results: Sequence[KeyResultResult],
    weights: Sequence[float],
    now: datetime,
    tolerance: float,
) -> tuple[KRStatus, str]:
    statuses = [r.status for r in results]
    if now < day_start(objective.start):
        period = period_name(objective.start, objective.end)
        starts = f"the {period} starts on {objective.start.isoformat()}"
        return KRStatus.NOT_STARTED, join([starts], KRStatus.NOT_STARTED)
    summary = _summary(statuses)
    if all(status is KRStatus.NOT_STARTED for status in statuses):
        return KRStatus.NOT_STARTED, join([summary], KRStatus.NOT_STARTED)
    if all(status is KRStatus.ACHIEVED for status in statuses):
        return KRStatus.ACHIEVED, join([summary], KRStatus.ACHIEVED)
    if objective.rollup is ObjectiveRollup.WEIGHTED:
        return _weighted(results, weights, tolerance, summary)
    return _worst(results, summary)


def _summary(statuses: Sequence[KRStatus]) -> str:
    """`1 achieved, 2 on track of 3 key results`."""
    counts = Counter(statuses)
    parts = [f"{counts[s]} {status_text(s)}" for s in _ORDER if counts[s]]
    return f"{', '.join(parts)} of {plural(len(statuses), 'key result')}"


def _worst(results: Sequence[KeyResultResult], summary: str) -> tuple[KRStatus, str]:
    started = [r for r in results if r.status is not KRStatus.NOT_STARTED]
    worst = max(started, key=lambda r: r.status.severity)
    status = KRStatus.ON_TRACK if worst.status is KRStatus.ACHIEVED else worst.status
    if status is KRStatus.ON_TRACK:
        return status, join([summary], status)
    return status, join([summary, f"worst: {worst.title}"], status)


def _weighted(
    results: Sequence[KeyResultResult],
    weights: Sequence[float],
    tolerance: float,
    summary: str,
) -> tuple[KRStatus, str]:
    pairs = [
        (r, w)
        for r, w in zip(results, weights, strict=True)
        if r.status is not KRStatus.NOT_STARTED
    ]
    started_weights = [w for _, w in pairs]
    progress = _mean([r.progress for r, _ in pairs], started_weights)
    expected = _mean([r.expected_progress for r, _ in pairs], started_weights)
    status = status_from_lag(progress, expected, tolerance)
    facts = f"weighted progress {percent_text(progress)} against {percent_text(expected)} expected"
    return status, join([facts, f"tolerance {percent_text(tolerance)}", summary], status)
