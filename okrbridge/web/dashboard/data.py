"""What the dashboard shows: the last evaluation a sync recorded, and pages of mapped tasks.

Nothing here loads every task or runs the engine: figures come from the stored evaluation
(`stored`), task lists from the stored mapping with LIMIT (`task_lists`). The overview's data
is cached until a new evaluation is recorded (or `cache_seconds` pass, so labels and task
states written between syncs show up too).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from markupsafe import Markup
from sqlalchemy.orm import Session

from okrbridge.config.schema import Config
from okrbridge.domain import (
    InitiativeResult,
    KeyResult,
    KeyResultResult,
    KeyResultSource,
    Metric,
    Objective,
    ObjectiveResult,
)
from okrbridge.engine.pace import day_end, day_start
from okrbridge.report.history import StatusChange, status_changes, value_points
from okrbridge.report.text import value_of
from okrbridge.store.db import Store
from okrbridge.web.dashboard import queries
from okrbridge.web.dashboard.charts import BurnUp, burn_up_svg, thin
from okrbridge.web.dashboard.stored import (
    Marker,
    StoredEvaluation,
    evaluation_marker,
    load_stored_evaluation,
)
from okrbridge.web.dashboard.task_lists import (
    INITIATIVE,
    KEY_RESULT,
    TaskPage,
    count_tasks,
    task_page,
)

__all__ = [
    "ConnectorPage",
    "DashboardData",
    "InitiativeView",
    "KeyResultPage",
    "KeyResultView",
    "ObjectiveView",
    "Overview",
    "TaskListPage",
]

OVERVIEW_TASKS = 10
"""Tasks the overview lists per initiative (and per task-counting key result)..."""
OVERVIEW_TASK_BUDGET = 300
"""...and in all: with more than 30 lists each gets its share (maybe none, only the link)."""
KR_PAGE_TASKS = 20
"""Tasks a key result's page lists per initiative."""
LIST_PAGE_TASKS = 50
"""Tasks per page of an initiative's (or a key result's) own task list."""


@dataclass(frozen=True)
class InitiativeView:
    result: InitiativeResult
    tasks: TaskPage
    """The first of its mapped tasks (the rest are on its own list's pages)."""


@dataclass(frozen=True)
class KeyResultView:
    result: KeyResultResult
    initiatives: tuple[InitiativeView, ...]
    counted: TaskPage | None = None
    """For `source = "tasks"`: the first of the tasks its value counts."""


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
    evaluated_at: datetime | None
    """When the evaluation shown was recorded (None: no sync recorded one yet)."""
    objectives: tuple[ObjectiveView, ...]
    connectors: tuple[ConnectorSummary, ...]


@dataclass(frozen=True)
class KeyResultPage:
    generated_at: datetime
    evaluated_at: datetime | None
    objective: ObjectiveResult
    view: KeyResultView
    chart: Markup
    points: int
    changes: tuple[StatusChange, ...]
    """Status changes, newest first."""


@dataclass(frozen=True)
class TaskListPage:
    """One page of an initiative's (or a task-counting key result's) tasks."""

    generated_at: datetime
    evaluated_at: datetime | None
    kind: str
    """"initiative" or "key_result"."""
    target_id: str
    title: str
    tasks: TaskPage
    page: int
    pages: int


@dataclass(frozen=True)
class ConnectorPage:
    generated_at: datetime
    summary: ConnectorSummary
    runs: tuple[queries.RunView, ...]
    inbox: dict[str, int]
    inbox_problems: tuple[queries.Problem, ...]
    queue: dict[str, int]
    queue_problems: tuple[queries.Problem, ...]


@dataclass(frozen=True)
class _Snapshot:
    marker: Marker
    built: float
    """`time.monotonic()` when built."""
    evaluation: StoredEvaluation
    objectives: tuple[ObjectiveView, ...]
    """The overview's tree."""


class DashboardData:
    """Builds page data from the stored evaluation; the overview's tree is kept until a new
    evaluation is recorded or `cache_seconds` pass."""

    def __init__(
        self,
        store: Callable[[], Store],
        config: Callable[[], Config],
        *,
        clock: Callable[[], datetime],
        cache_seconds: float = 60.0,
    ) -> None:
        self._store, self._config, self._clock = store, config, clock
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: _Snapshot | None = None

    def now(self) -> datetime:
        """The current moment by the clock."""
        return self._clock()

    def _snapshot(self) -> _Snapshot:
        config = self._config()
        with self._lock, self._store().session() as session:
            marker = evaluation_marker(session, config)
            cached = self._cached
            if (
                cached is not None
                and cached.marker == marker
                and time.monotonic() - cached.built < self.cache_seconds
            ):
                return cached
            evaluation = load_stored_evaluation(session, config)
            views = _Views(session, evaluation, self._clock().date())
            objectives = views.tree(_overview_share(config))
            self._cached = _Snapshot(marker, time.monotonic(), evaluation, objectives)
            return self._cached

    def overview(self) -> Overview:
        """Objectives -> key results -> initiatives -> first tasks, and each connector's
        last run (read on every request: a few indexed rows)."""
        snapshot = self._snapshot()
        config = self._config()
        with self._store().session() as session:
            runs = queries.last_runs(session, list(config.connectors))
        return Overview(
            generated_at=self._clock(),
            evaluated_at=snapshot.evaluation.at,
            objectives=snapshot.objectives,
            connectors=tuple(
                ConnectorSummary(name, s.type, s.enabled, runs.get(name))
                for name, s in config.connectors.items()
            ),
        )

    def key_result(self, kr_id: str) -> KeyResultPage | None:
        """The key result's page data, or None when no such key result is configured."""
        evaluation = self._snapshot().evaluation
        result = evaluation.key_results.get(kr_id)
        if result is None:
            return None
        objective = next(o for o in self._config().objectives if o.id == result.objective_id)
        definition = next(kr for kr in objective.key_results if kr.id == kr_id)
        now = self._clock()
        with self._store().session() as session:
            view = _Views(session, evaluation, now.date()).key_result(result, KR_PAGE_TASKS)
            points = value_points(session, kr_id)
            changes = status_changes(session, key_result_id=kr_id)
        objective_result = next(o for o in evaluation.objectives if o.id == result.objective_id)
        chart = burn_up(result, definition, objective, thin(points), now)
        return KeyResultPage(
            generated_at=now,
            evaluated_at=evaluation.at,
            objective=objective_result,
            view=view,
            chart=burn_up_svg(chart),
            points=len(chart.actual),
            changes=tuple(reversed(changes)),
        )

    def task_list(self, kind: str, target_id: str, page: int) -> TaskListPage | None:
        """Page `page` (from 1) of a configured initiative's tasks (`kind` "initiative") or
        of a task-counting key result's; None when there is no such target."""
        evaluation = self._snapshot().evaluation
        title = _target_title(evaluation, kind, target_id)
        if title is None:
            return None
        now = self._clock()
        offset = (page - 1) * LIST_PAGE_TASKS
        with self._store().session() as session:
            tasks = task_page(
                session, kind, target_id, today=now.date(), offset=offset, limit=LIST_PAGE_TASKS
            )
        return TaskListPage(
            generated_at=now,
            evaluated_at=evaluation.at,
            kind=kind,
            target_id=target_id,
            title=title,
            tasks=tasks,
            page=page,
            pages=max(-(-tasks.total // LIST_PAGE_TASKS), 1),
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


def _overview_share(config: Config) -> int:
    """Tasks the overview lists per list, so that all lists together stay in the budget."""
    key_results = [kr for objective in config.objectives for kr in objective.key_results]
    shown = {kr.id for kr in key_results}
    lists = sum(any(link.id in shown for link in i.key_results) for i in config.initiatives)
    lists += sum(kr.source is KeyResultSource.TASKS for kr in key_results)
    return min(OVERVIEW_TASKS, OVERVIEW_TASK_BUDGET // max(lists, 1))


def _target_title(evaluation: StoredEvaluation, kind: str, target_id: str) -> str | None:
    if kind == INITIATIVE:
        initiative = evaluation.initiatives.get(target_id)
        return None if initiative is None else initiative.title
    result = evaluation.key_results.get(target_id)
    return result.title if result is not None and target_id in evaluation.counting else None


class _Views:
    """Builds the nested views of the stored evaluation, with the first tasks of each list."""

    def __init__(self, session: Session, evaluation: StoredEvaluation, today: date) -> None:
        self.session, self.evaluation, self.today = session, evaluation, today
        self._counts: dict[str, dict[str, int]] = {}

    def tree(self, limit: int) -> tuple[ObjectiveView, ...]:
        results = self.evaluation.key_results.values()
        self._count(INITIATIVE, [i for kr in results for i in kr.initiative_ids])
        self._count(KEY_RESULT, sorted(self.evaluation.counting))
        return tuple(
            ObjectiveView(o, tuple(self.key_result(kr, limit) for kr in o.key_results))
            for o in self.evaluation.objectives
        )

    def key_result(self, result: KeyResultResult, limit: int) -> KeyResultView:
        views = tuple(
            InitiativeView(self.evaluation.initiatives[i], self._page(INITIATIVE, i, limit))
            for i in result.initiative_ids
            if i in self.evaluation.initiatives
        )
        counting = result.id in self.evaluation.counting
        counted = self._page(KEY_RESULT, result.id, limit) if counting else None
        return KeyResultView(result, views, counted)

    def _count(self, kind: str, ids: Sequence[str]) -> None:
        self._counts[kind] = count_tasks(self.session, kind, sorted(set(ids)))

    def _page(self, kind: str, target_id: str, limit: int) -> TaskPage:
        counts = self._counts.get(kind)
        total = None if counts is None else counts.get(target_id, 0)
        return task_page(
            self.session, kind, target_id, today=self.today, offset=0, limit=limit, total=total
        )
