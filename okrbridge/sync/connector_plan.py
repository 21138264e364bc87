"""Plan one connector's writes from an evaluation and the stored push state."""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from okrbridge.config.schema import Config, ConnectorSettings
from okrbridge.connector.base import Capability
from okrbridge.domain import Task
from okrbridge.engine import Evaluation
from okrbridge.sync.comment import CommentContext
from okrbridge.sync.task_changes import PRIORITY_TRIGGER, PlannedChange, Pushed, TaskPlanner

__all__ = ["TaskPlan", "comment_context", "plan_connector"]


@dataclass(frozen=True)
class TaskPlan:
    task_id: int
    planned: PlannedChange
    priority: int = 1
    """Queue priority: the triggering tasks first, then changes, then figure refreshes."""


def comment_context(
    task: Task, evaluation: Evaluation, objective_titles: Mapping[str, str], dashboard: str | None
) -> CommentContext | None:
    """What the bot comment says about `task`; None when it serves no initiative."""
    key = (task.connector, task.external_id)
    initiative_ids = evaluation.initiatives_for(key)
    status = evaluation.worst_status_for(key)
    if not initiative_ids or status is None:
        return None
    return CommentContext(
        status=status,
        initiatives=tuple(evaluation.initiatives[i] for i in sorted(initiative_ids)),
        key_results=evaluation.key_results_for(key),
        objective_titles=dict(objective_titles),
        dashboard_url=dashboard,
    )


class _Contexts:
    """One comment context per distinct set of initiatives (shared by all its tasks)."""

    def __init__(
        self, evaluation: Evaluation, titles: Mapping[str, str], dashboard: str | None
    ) -> None:
        self.evaluation, self.titles, self.dashboard = evaluation, dict(titles), dashboard
        self._by_set: dict[frozenset[str], CommentContext | None] = {}

    def get(self, task: Task) -> CommentContext | None:
        initiative_ids = self.evaluation.initiatives_for((task.connector, task.external_id))
        if initiative_ids not in self._by_set:
            self._by_set[initiative_ids] = comment_context(
                task, self.evaluation, self.titles, self.dashboard
            )
        return self._by_set[initiative_ids]


def plan_connector(
    config: Config,
    settings: ConnectorSettings,
    capabilities: frozenset[Capability],
    tasks: Sequence[tuple[int, Task]],
    evaluation: Evaluation,
    pushed: Mapping[int, Pushed],
    capabilities_of: Callable[[Task], frozenset[Capability]] | None = None,
    *,
    now: datetime | None = None,
    first: Collection[str] = (),
) -> list[TaskPlan]:
    """Every task's minimal change, for the tasks of one connector instance.

    `capabilities_of` gives a task's own capabilities where they differ from the connector's;
    `now` paces the comments' figure refreshes; the tasks whose external ids are in `first`
    (those whose change triggered this push) are queued before every other.
    """
    titles = {o.id: o.title for o in config.objectives}
    scope = settings.scope or config.push.scope
    contexts = _Contexts(evaluation, titles, config.push.dashboard_url)
    planner = TaskPlanner(config.push, capabilities, scope, now=now)
    nothing = Pushed()
    plans: list[TaskPlan] = []
    # Planning allocates a few objects per task; with 100,000 live tasks the cyclic GC would
    # rescan the whole heap again and again. Nothing here makes reference cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for task_id, task in tasks:
            caps = None if capabilities_of is None else capabilities_of(task)
            planned = planner.plan(task, contexts.get(task), pushed.get(task_id, nothing), caps)
            if planned is not None:
                priority = PRIORITY_TRIGGER if task.external_id in first else planned.priority
                plans.append(TaskPlan(task_id, planned, priority))
    finally:
        if gc_was_enabled:
            gc.enable()
    return plans
