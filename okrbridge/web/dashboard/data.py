"""What the dashboard shows, gathered from the store and a fresh (unrecorded) evaluation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from markupsafe import Markup

from okrbridge.config.schema import Config
from okrbridge.domain import (
    InitiativeResult,
    KeyResult,
    KeyResultResult,
    Metric,
    Objective,
    ObjectiveResult,
    StatusCategory,
    Task,
)
from okrbridge.engine import TaskKey
from okrbridge.engine.pace import day_end, day_start
from okrbridge.report.history import StatusChange, status_changes, value_points
from okrbridge.report.text import value_of
from okrbridge.store.db import Store
from okrbridge.sync.compute import Computed, compute
from okrbridge.web.dashboard import queries
from okrbridge.web.dashboard.charts import BurnUp, burn_up_svg, thin

__all__ = [
    "ConnectorPage",
    "DashboardData",
    "InitiativeView",
    "KeyResultPage",
    "KeyResultView",
    "ObjectiveView",
    "Overview",
    "TaskItem",
]

_CATEGORY_ORDER = {StatusCategory.IN_PROGRESS: 0, StatusCategory.TODO: 1, StatusCategory.DONE: 2}


@dataclass(frozen=True)
class TaskItem:
    task: Task
    label: str | None
    """The status label the bridge last put on the task (None: none)."""
    overdue: bool


@dataclass(frozen=True)
class InitiativeView:
    result: InitiativeResult
    tasks: tuple[TaskItem, ...]
    hidden: int
    """Mapped tasks left out of `tasks` (the list is capped)."""


@dataclass(frozen=True)
class KeyResultView:
    result: KeyResultResult
    initiatives: tuple[InitiativeView, ...]
    counted: tuple[TaskItem, ...] = ()
    """For `source = "tasks"`: the tasks its value counts (capped like initiatives' lists)."""
    counted_hidden: int = 0


@dataclass(frozen=True)
class ObjectiveView:
    result: ObjectiveResult
    key_results: tuple[KeyResultView, ...]


@dataclass(frozen=True)
class ConnectorSummary:
    name: str
    type: str
    enabled: bool
    last_run: queries.RunView | None


@dataclass(frozen=True)
class Overview:
    generated_at: datetime
    objectives: tuple[ObjectiveView, ...]
    connectors: tuple[ConnectorSummary, ...]


@dataclass(frozen=True)
class KeyResultPage:
    generated_at: datetime
    objective: ObjectiveResult
    view: KeyResultView
    chart: Markup
    points: int
    changes: tuple[StatusChange, ...]
    """Status changes, newest first."""


@dataclass(frozen=True)
class ConnectorPage:
    generated_at: datetime
    summary: ConnectorSummary
    runs: tuple[queries.RunView, ...]
    inbox: dict[str, int]
    inbox_problems: tuple[queries.Problem, ...]
    queue: dict[str, int]
    queue_problems: tuple[queries.Problem, ...]


class DashboardData:
    """Builds page data; the evaluation is reused for `cache_seconds` (it reads every task)."""

    def __init__(
        self,
        store: Callable[[], Store],
        config: Callable[[], Config],
        *,
        clock: Callable[[], datetime],
        task_limit: int = 100,
        cache_seconds: float = 10.0,
    ) -> None:
        self._store, self._config, self._clock = store, config, clock
        self.task_limit = task_limit
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, datetime, Computed] | None = None

    def now(self) -> datetime:
        """The current moment by the clock."""
        return self._clock()

    def _computed(self) -> tuple[datetime, Computed]:
        with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
                return cached[1], cached[2]
            now = self._clock()
            computed = compute(self._store(), self._config(), now=now, record=False)
            self._cached = (time.monotonic(), now, computed)
            return now, computed

    def overview(self) -> Overview:
        """Objectives -> key results -> initiatives -> tasks, and each connector's last run."""
        now, computed = self._computed()
        with self._store().session() as session:
            labels = queries.pushed_labels(session)
            runs = {run.connector: run for run in queries.recent_runs(session, limit=1000)}
        tree = _Tree(computed, labels, now, self.task_limit)
        return Overview(
            generated_at=now,
            objectives=tuple(tree.objective(o) for o in computed.evaluation.objectives),
            connectors=tuple(
                ConnectorSummary(name, s.type, s.enabled, runs.get(name))
                for name, s in self._config().connectors.items()
            ),
        )

    def key_result(self, kr_id: str) -> KeyResultPage | None:
        """The key result's page data, or None when no such key result is configured."""
        now, computed = self._computed()
        result = computed.evaluation.key_results.get(kr_id)
        if result is None:
            return None
        objective = next(o for o in self._config().objectives if o.id == result.objective_id)
        definition = next(kr for kr in objective.key_results if kr.id == kr_id)
        with self._store().session() as session:
            labels = queries.pushed_labels(session)
            points = value_points(session, kr_id)
            changes = status_changes(session, key_result_id=kr_id)
        objective_result = next(
            o for o in computed.evaluation.objectives if o.id == result.objective_id
        )
        chart = burn_up(result, definition, objective, thin(points), now)
        return KeyResultPage(
            generated_at=now,
            objective=objective_result,
            view=_Tree(computed, labels, now, self.task_limit).key_result(result),
            chart=burn_up_svg(chart),
            points=len(chart.actual),
            changes=tuple(reversed(changes)),
        )

    def connector(self, name: str) -> ConnectorPage | None:
        """The connector instance's page data, or None when no such instance is configured."""
        settings = self._config().connectors.get(name)
        if settings is None:
            return None
        with self._store().session() as session:
            runs = queries.recent_runs(session, name)
            page = ConnectorPage(
                generated_at=self._clock(),
                summary=ConnectorSummary(
                    name, settings.type, settings.enabled, next(iter(runs), None)
                ),
                runs=tuple(runs),
                inbox=queries.inbox_counts(session, name),
                inbox_problems=tuple(queries.inbox_problems(session, name)),
                queue=queries.queue_counts(session, name),
                queue_problems=tuple(queries.queue_problems(session, name)),
            )
        return page


def burn_up(
    result: KeyResultResult,
    definition: KeyResult,
    objective: Objective,
    points: list[tuple[datetime, float]],
    now: datetime,
) -> BurnUp:
    """The burn-up of one key result: recorded values, planned pace and forecast."""
    start, end = day_start(objective.start), day_end(objective.end)
    inner = sorted(
        (day_end(c.date), c.value) for c in definition.plan if start < day_end(c.date) < end
    )
    plan = [(start, definition.start), *inner, (end, definition.target)]
    forecast: list[tuple[datetime, float]] = []
    if result.forecast is not None and result.value is not None and now < end:
        forecast = [(now, result.value), (end, result.forecast.projected_value)]
    return BurnUp(
        title=f"Burn-up of {result.title}",
        start=start,
        end=end,
        target=result.target,
        actual=points,
        plan=plan,
        forecast=forecast,
        now=now,
        label=lambda value: value_of(result, value),
        tick_suffix="%" if result.metric is Metric.PERCENT else "",
        axis_label=result.unit,
    )


class _Tree:
    """Builds the nested views of one evaluation."""

    def __init__(
        self, computed: Computed, labels: dict[tuple[str, str], str], now: datetime, limit: int
    ) -> None:
        self.evaluation = computed.evaluation
        self.tasks = {(t.connector, t.external_id): t for t in computed.tasks}
        self.labels, self.today, self.limit = labels, now.date(), limit
        self._initiatives: dict[str, InitiativeView] = {}

    def objective(self, result: ObjectiveResult) -> ObjectiveView:
        return ObjectiveView(result, tuple(self.key_result(kr) for kr in result.key_results))

    def key_result(self, result: KeyResultResult) -> KeyResultView:
        views = tuple(
            self.initiative(i) for i in result.initiative_ids if i in self.evaluation.initiatives
        )
        counted, hidden = self._items(self.evaluation.key_result_tasks.get(result.id, ()))
        return KeyResultView(result, views, counted, hidden)

    def initiative(self, initiative_id: str) -> InitiativeView:
        if initiative_id not in self._initiatives:
            items, hidden = self._items(self.evaluation.initiative_tasks.get(initiative_id, ()))
            result = self.evaluation.initiatives[initiative_id]
            self._initiatives[initiative_id] = InitiativeView(result, items, hidden)
        return self._initiatives[initiative_id]

    def _items(self, keys: Sequence[TaskKey]) -> tuple[tuple[TaskItem, ...], int]:
        """The first `limit` tasks (open ones first) and how many were left out."""
        tasks = sorted((self.tasks[k] for k in keys if k in self.tasks), key=_task_order)
        items = tuple(self._item(task) for task in tasks[: self.limit])
        return items, len(tasks) - len(items)

    def _item(self, task: Task) -> TaskItem:
        overdue = _overdue(task.due, task.status_category, self.today)
        return TaskItem(task, self.labels.get((task.connector, task.external_id)), overdue)


def _task_order(task: Task) -> tuple[int, str, str]:
    return (_CATEGORY_ORDER[task.status_category], task.connector, task.key)


def _overdue(due: date | None, category: StatusCategory, today: date) -> bool:
    return due is not None and due < today and category is not StatusCategory.DONE
