"""Gather a weekly update: status changes, key results at risk with their problem tasks,
and forecast misses, from the store and a fresh (unrecorded) evaluation.

After a sync the evaluation comes from the stored tallies and each key result's problem
tasks from a query (`problems.stored_problems`), so no task is loaded beyond those listed;
when tasks changed since (the tallies are behind), every task is evaluated in memory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from okrbridge.config.schema import Config
from okrbridge.domain import KeyResultResult, KRStatus, Task
from okrbridge.engine import Evaluation
from okrbridge.report.history import StatusChange, status_changes
from okrbridge.report.problems import COUNTED, ProblemTask, problem_task, stored_problems
from okrbridge.store.db import Store
from okrbridge.store.repos.history import latest_statuses
from okrbridge.sync.compute import compute, evaluate_current

__all__ = ["AtRisk", "ChangeLine", "ProblemTask", "Report", "build_report", "forecast_shortfall"]

AT_RISK = (KRStatus.OFF_TRACK, KRStatus.NEEDS_ATTENTION)
DEFAULT_STALLED_DAYS = 14
DEFAULT_TASK_LIMIT = 20
"""Problem tasks listed per key result at risk; `okrbridge report --all` lists every one."""


@dataclass(frozen=True)
class ChangeLine:
    """A status change with the names a reader knows."""

    change: StatusChange
    key_result: KeyResultResult | None
    """The key result's current result (None when it is no longer configured)."""
    objective_title: str


@dataclass(frozen=True)
class AtRisk:
    key_result: KeyResultResult
    objective_title: str
    tasks: tuple[ProblemTask, ...]
    """The worst problem tasks first, at most the report's `task_limit`."""
    more: int = 0
    """Problem tasks left out by the limit."""


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    since: datetime
    stalled_days: int
    changes: tuple[ChangeLine, ...]
    at_risk: tuple[AtRisk, ...]
    forecast_misses: tuple[tuple[KeyResultResult, str], ...]
    """Key results whose forecast ends short of the target, with their objective's title."""
    counts: dict[KRStatus, int]
    """Key results per current status."""


def build_report(
    store: Store,
    config: Config,
    *,
    now: datetime,
    since: datetime,
    stalled_days: int = DEFAULT_STALLED_DAYS,
    task_limit: int | None = DEFAULT_TASK_LIMIT,
) -> Report:
    """Everything the weekly update says, as of `now`, about the window from `since`.

    Each at-risk key result lists its worst `task_limit` problem tasks and counts the rest
    (None lists them all): a report stays readable at any number of tasks."""
    evaluation = evaluate_current(store, config, now=now)
    tasks: dict[tuple[str, str], Task] | None = None
    if evaluation is None:  # the tallies are behind the stored tasks: every task, in memory
        computed = compute(store, config, now=now, record=False)
        evaluation = computed.evaluation
        tasks = {(t.connector, t.external_id): t for t in computed.tasks}
    with store.session() as session:
        changes = status_changes(session, since)
        recorded = latest_statuses(session)
        changes += _since_last_evaluation(evaluation, recorded, now)
        titles = {o.id: o.title for o in evaluation.objectives}
        krs = [kr for objective in evaluation.objectives for kr in objective.key_results]
        at_risk = []
        for kr in sorted(krs, key=lambda kr: -kr.status.severity):
            if kr.status not in AT_RISK:
                continue
            if tasks is None:
                problems, total = stored_problems(
                    session,
                    kr,
                    evaluation,
                    now=now,
                    stalled_days=stalled_days,
                    limit=task_limit,
                )
            else:
                found = _problems(kr, evaluation, tasks, now, stalled_days)
                problems, total = found[:task_limit], len(found)
            at_risk.append(AtRisk(kr, titles[kr.objective_id], problems, total - len(problems)))
    counts = {status: 0 for status in KRStatus}
    for kr in krs:
        counts[kr.status] += 1
    return Report(
        generated_at=now,
        since=since,
        stalled_days=stalled_days,
        changes=tuple(_change_line(c, evaluation, titles) for c in changes),
        at_risk=tuple(at_risk),
        forecast_misses=tuple(
            (kr, titles[kr.objective_id]) for kr in krs if forecast_shortfall(kr) is not None
        ),
        counts=counts,
    )


def _since_last_evaluation(
    evaluation: Evaluation, recorded: dict[str, tuple[KRStatus, str, datetime]], now: datetime
) -> list[StatusChange]:
    """Changes the store has not recorded yet (a check-in after the last sync): the report's
    other sections read the current evaluation, so this one must end where they stand."""
    return [
        StatusChange(kr.id, now, recorded[kr.id][0], kr.status, kr.reason, kr.value)
        for kr in evaluation.key_results.values()
        if kr.id in recorded and recorded[kr.id][0] is not kr.status
    ]


def forecast_shortfall(kr: KeyResultResult) -> float | None:
    """How far the forecast ends short of the target (None: no forecast, or it gets there)."""
    if kr.forecast is None or kr.status is KRStatus.ACHIEVED:
        return None
    heading = 1.0 if kr.target > kr.start else -1.0
    short = (kr.target - kr.forecast.projected_value) * heading
    return short if short > 1e-9 else None


def _change_line(
    change: StatusChange, evaluation: Evaluation, titles: dict[str, str]
) -> ChangeLine:
    kr = evaluation.key_results.get(change.key_result_id)
    objective = titles.get(kr.objective_id, kr.objective_id) if kr is not None else ""
    return ChangeLine(change, kr, objective)


def _problems(
    kr: KeyResultResult,
    evaluation: Evaluation,
    tasks: dict[tuple[str, str], Task],
    now: datetime,
    stalled_days: int,
) -> tuple[ProblemTask, ...]:
    found: dict[tuple[str, str], ProblemTask] = {}
    sources = [
        (evaluation.initiatives[i].title, evaluation.initiative_tasks.get(i, ()))
        for i in kr.initiative_ids
        if i in evaluation.initiatives
    ]
    sources.append((COUNTED, evaluation.key_result_tasks.get(kr.id, ())))
    for title, keys in sources:
        for key in keys:
            task = tasks.get(key)
            if task is None or key in found:
                continue
            problem = problem_task(task, title, now, stalled_days)
            if problem is not None:
                found[key] = problem
    return tuple(
        sorted(found.values(), key=lambda p: (-(p.overdue_days or 0), -(p.idle_days or 0)))
    )
