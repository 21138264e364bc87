"""Compute: read tasks, check-ins and history from the store, run the engine, record results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from okrbridge.config.schema import Config
from okrbridge.domain import KRStatus, Task
from okrbridge.engine import Evaluation, evaluate
from okrbridge.store.db import Store
from okrbridge.store.repos.definitions import sync_definitions
from okrbridge.store.repos.history import (
    checkins,
    latest_statuses,
    record_evaluation,
    value_history,
)
from okrbridge.store.repos.mapping import TaskKey as StoreTaskKey
from okrbridge.store.repos.mapping import replace_task_initiatives
from okrbridge.store.repos.tasks import load_tasks

__all__ = ["Computed", "compute"]


@dataclass(frozen=True)
class Computed:
    evaluation: Evaluation
    tasks: list[Task]
    previous: dict[str, KRStatus]
    """Each key result's status at the previous evaluation."""

    @property
    def status_changes(self) -> list[str]:
        """Ids of key results whose status differs from the previous evaluation."""
        return [
            kr_id
            for kr_id, kr in self.evaluation.key_results.items()
            if kr_id in self.previous and self.previous[kr_id] is not kr.status
        ]


def compute(
    store: Store, config: Config, *, now: datetime, record: bool, run_id: int | None = None
) -> Computed:
    """Evaluate every objective over the stored tasks.

    With `record`, the config's OKR definitions are upserted and the results, history and
    task mapping stored; without it nothing is written (the dashboard and `status` read only).
    """
    with store.session() as session:
        if record:
            sync_definitions(session, config.objectives, config.initiatives)
        tasks = load_tasks(session, include_raw=False)
        history = value_history(session)
        entries = checkins(session)
        previous = {kr: status for kr, (status, _, _) in latest_statuses(session).items()}
    evaluation = evaluate(
        config.objectives,
        config.initiatives,
        tasks,
        entries,
        history,
        now=now,
        tolerance=config.engine.tolerance,
        confidence_overrides=config.engine.confidence_overrides,
        label_prefix=config.push.label_prefix,
    )
    if record:
        with store.session() as session:
            record_evaluation(
                session,
                evaluation.objectives,
                list(evaluation.initiatives.values()),
                run_id,
                now,
            )
            mapping: dict[StoreTaskKey, frozenset[str]] = {
                key: ids for key, ids in evaluation.task_initiatives.items()
            }
            replace_task_initiatives(session, mapping, replace_all=True)
    return Computed(evaluation=evaluation, tasks=tasks, previous=previous)
