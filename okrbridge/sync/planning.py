"""Plan one connector's writes from an evaluation and the stored push state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from okrbridge.config.schema import Config, ConnectorSettings
from okrbridge.connector.base import Capability
from okrbridge.domain import Task
from okrbridge.engine import Evaluation
from okrbridge.sync.comment import CommentContext
from okrbridge.sync.plan import PlannedChange, Pushed, plan_task

__all__ = ["TaskPlan", "comment_context", "plan_connector"]


@dataclass(frozen=True)
class TaskPlan:
    task_id: int
    planned: PlannedChange


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


def plan_connector(
    config: Config,
    settings: ConnectorSettings,
    capabilities: frozenset[Capability],
    tasks: Sequence[tuple[int, Task]],
    evaluation: Evaluation,
    pushed: Mapping[int, Pushed],
) -> list[TaskPlan]:
    """Every task's minimal change, for the tasks of one connector instance."""
    titles = {o.id: o.title for o in config.objectives}
    scope = settings.scope or config.push.scope
    plans: list[TaskPlan] = []
    for task_id, task in tasks:
        ctx = comment_context(task, evaluation, titles, config.push.dashboard_url)
        planned = plan_task(
            task, ctx, pushed.get(task_id, Pushed()), config.push, capabilities, scope
        )
        if planned is not None:
            plans.append(TaskPlan(task_id, planned))
    return plans
