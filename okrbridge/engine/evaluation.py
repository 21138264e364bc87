"""The engine's entry point: map tasks once, then compute initiatives, key results, objectives."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from okrbridge.domain import (
    CheckIn,
    Initiative,
    InitiativeResult,
    KeyResult,
    KeyResultResult,
    KeyResultSource,
    KRStatus,
    Objective,
    ObjectiveResult,
    TaskRef,
)

from .finite import (
    DEFAULT_TOLERANCE,
    finite_checkins,
    finite_initiatives,
    finite_objectives,
    finite_or,
)
from .matching import TaskMapping, map_tasks
from .measures import Measure, measure_initiatives, measure_manual, measure_tasks
from .pace import as_utc
from .progress import initiative_progress
from .rollup import assess_objective
from .status import Assessment, assess_key_result
from .taskview import TaskKey, TaskView, task_key

__all__ = ["Evaluation", "History", "evaluate", "latest_checkins"]

History = Mapping[str, Sequence[tuple[datetime, float]]]
"""Past values per key-result id, as (moment, value) points, for forecasts."""


@dataclass(frozen=True)
class Evaluation:
    """Everything the engine computed in one pass, for the store, the push plan and the UI."""

    objectives: tuple[ObjectiveResult, ...]
    initiatives: dict[str, InitiativeResult]
    """Initiative results by id."""
    key_results: dict[str, KeyResultResult]
    """Key-result results by id (the same objects as inside `objectives`)."""
    initiative_key_results: dict[str, tuple[str, ...]]
    """Ids of the key results each initiative serves."""
    mapping: TaskMapping
    """The task mapping, with the task objects per initiative and per task-counting KR."""

    @property
    def task_initiatives(self) -> dict[TaskKey, frozenset[str]]:
        """Initiative ids per mapped task, keyed by `(connector, external_id)`."""
        return self.mapping.by_task

    @cached_property
    def initiative_tasks(self) -> dict[str, tuple[TaskKey, ...]]:
        """Keys of the mapped tasks per initiative id (every initiative present)."""
        return _keys(self.mapping.by_initiative)

    @cached_property
    def key_result_tasks(self) -> dict[str, tuple[TaskKey, ...]]:
        """Keys of the tasks counted by each key result with `source = "tasks"`."""
        return _keys(self.mapping.by_key_result)

    def initiatives_for(self, task: TaskRef | TaskKey) -> frozenset[str]:
        """Ids of the initiatives a task serves (empty when unmapped)."""
        key = task if isinstance(task, tuple) else task_key(task)
        return self.task_initiatives.get(key, frozenset())

    def key_results_for(self, task: TaskRef | TaskKey) -> tuple[KeyResultResult, ...]:
        """Results of the key results a task serves through its initiatives, by id."""
        ids = {
            kr_id
            for initiative_id in self.initiatives_for(task)
            for kr_id in self.initiative_key_results.get(initiative_id, ())
        }
        return tuple(self.key_results[kr_id] for kr_id in sorted(ids) if kr_id in self.key_results)

    def worst_status_for(self, task: TaskRef | TaskKey) -> KRStatus | None:
        """The worst status among the key results a task serves (None when it serves none).

        By `KRStatus.severity`; between the equally ranked `on_track` and `not_started`,
        `on_track` is reported, since some key result is moving.
        """
        results = self.key_results_for(task)
        if not results:
            return None
        return max(results, key=lambda r: (r.status.severity, r.status is KRStatus.ON_TRACK)).status


def latest_checkins(checkins: Iterable[CheckIn], now: datetime) -> dict[str, CheckIn]:
    """The latest check-in per key result, ignoring any dated after `now`."""
    now = as_utc(now)
    latest: dict[str, CheckIn] = {}
    for checkin in checkins:
        if as_utc(checkin.at) > now:
            continue
        seen = latest.get(checkin.key_result_id)
        if seen is None or as_utc(checkin.at) >= as_utc(seen.at):
            latest[checkin.key_result_id] = checkin
    return latest


def evaluate(
    objectives: Sequence[Objective],
    initiatives: Sequence[Initiative],
    tasks: Iterable[TaskView],
    checkins: Iterable[CheckIn] = (),
    history: History | None = None,
    *,
    now: datetime,
    tolerance: float = 0.1,
    confidence_overrides: bool = True,
    label_prefix: str = "okr:",
) -> Evaluation:
    """Map `tasks` to initiatives once, then compute every initiative, key result and objective.

    Pure: nothing is read from the clock, the store or the tools; `now` fixes the moment.
    Non-finite numbers (nan, inf) in the definitions, check-ins or tasks are made harmless
    first, as `okrbridge.engine.finite` documents.
    `history` gives past values per key-result id for forecasts (the current value is added).
    """
    objectives = finite_objectives(objectives)
    initiatives = finite_initiatives(initiatives)
    tolerance = finite_or(tolerance, DEFAULT_TOLERANCE)
    all_krs = [kr for objective in objectives for kr in objective.key_results]
    mapping = map_tasks(initiatives, tasks, key_results=all_krs, label_prefix=label_prefix)
    initiative_results = {
        initiative.id: initiative_progress(initiative, mapping.by_initiative[initiative.id])
        for initiative in initiatives
    }
    links = _links(initiatives)
    context = _Context(
        now=now,
        tolerance=tolerance,
        confidence_overrides=confidence_overrides,
        checkins=latest_checkins(finite_checkins(checkins), now),
        history=history or {},
        mapping=mapping,
        initiatives=initiative_results,
        links=links,
    )
    objective_results = tuple(_objective(objective, context) for objective in objectives)
    return Evaluation(
        objectives=objective_results,
        initiatives=initiative_results,
        key_results={kr.id: kr for result in objective_results for kr in result.key_results},
        initiative_key_results={
            initiative.id: tuple(dict.fromkeys(link.id for link in initiative.key_results))
            for initiative in initiatives
        },
        mapping=mapping,
    )


@dataclass(frozen=True)
class _Context:
    now: datetime
    tolerance: float
    confidence_overrides: bool
    checkins: dict[str, CheckIn]
    history: History
    mapping: TaskMapping
    initiatives: dict[str, InitiativeResult]
    links: dict[str, list[tuple[str, float]]]
    """Key-result id -> (initiative id, weight) of the initiatives serving it."""


def _links(initiatives: Sequence[Initiative]) -> dict[str, list[tuple[str, float]]]:
    links: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for initiative in initiatives:
        for link in initiative.key_results:
            links[link.id].append((initiative.id, link.weight))
    return dict(links)


def _keys(lists: Mapping[str, Sequence[TaskView]]) -> dict[str, tuple[TaskKey, ...]]:
    return {
        name: tuple((task.connector, task.external_id) for task in tasks)
        for name, tasks in lists.items()
    }


def _objective(objective: Objective, context: _Context) -> ObjectiveResult:
    results = [_key_result(kr, objective, context) for kr in objective.key_results]
    return assess_objective(objective, results, now=context.now, tolerance=context.tolerance)


def _key_result(kr: KeyResult, objective: Objective, context: _Context) -> KeyResultResult:
    linked = context.links.get(kr.id, [])
    assessment = Assessment(
        now=context.now,
        tolerance=context.tolerance,
        confidence_overrides=context.confidence_overrides,
        latest_checkin=context.checkins.get(kr.id),
        history=context.history.get(kr.id, ()),
        initiative_ids=tuple(initiative_id for initiative_id, _ in linked),
    )
    return assess_key_result(kr, objective, _measure(kr, linked, context), assessment)


def _measure(kr: KeyResult, linked: list[tuple[str, float]], context: _Context) -> Measure:
    if kr.source is KeyResultSource.MANUAL:
        return measure_manual(kr, context.checkins.get(kr.id))
    if kr.source is KeyResultSource.TASKS:
        return measure_tasks(kr, context.mapping.by_key_result.get(kr.id, []))
    results = [
        (context.initiatives[initiative_id], weight)
        for initiative_id, weight in linked
        if initiative_id in context.initiatives
    ]
    return measure_initiatives(kr, results)
