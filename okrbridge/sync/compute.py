"""Compute: bring the stored mapping and tallies up to date, evaluate, record the results.

A recording compute (a sync) is incremental: only the tasks written since the last compute
are mapped again (`incremental.refresh_tallies`), the key results are evaluated from the
stored tallies, and only the tasks whose plan inputs may have changed are planned
(`incremental.plan_inputs_changed`), read a page at a time (`plan_pages`). With nothing
changed no task is loaded at all.
`full=True` recounts everything from the stored tasks (streamed in pages).

`evaluate_current` gives the same results from the stored tallies when they are current,
writing nothing and loading no task (`status`, `report`). A read-only compute
(`record=False`: `explain`, `config check`, and `status`/`report` when the tallies are behind)
evaluates every stored task in memory and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.orm import Session

from okrbridge.config.schema import Config
from okrbridge.domain import CheckIn, KeyResultSource, KRStatus, Task
from okrbridge.engine import (
    Evaluation,
    History,
    RuleHits,
    RuleRef,
    TaskKey,
    TaskMapping,
    TaskView,
    evaluate,
)
from okrbridge.engine.evaluation import evaluate_measured
from okrbridge.engine.progress import TaskTally, tallied_progress
from okrbridge.engine.tallies import measure_tallied, settled, task_count
from okrbridge.store.db import Store
from okrbridge.store.repos.definitions import sync_definitions
from okrbridge.store.repos.history import (
    checkins,
    latest_statuses,
    record_evaluation,
    value_history,
)
from okrbridge.store.repos.mapping import Links, load_links
from okrbridge.store.repos.tallies import (
    TALLY_STATE,
    TallyKey,
    latest_change,
    load_state,
    load_tallies,
)
from okrbridge.store.repos.tasks import (
    iter_live_tasks,
    iter_stored_tasks,
    load_tasks,
    load_tasks_by_id,
)
from okrbridge.sync.incremental import (
    INITIATIVE,
    KEY_RESULT,
    TallyUpdate,
    acknowledge_plans,
    mapping_fingerprint,
    plan_inputs_changed,
    refresh_tallies,
)

__all__ = [
    "PLAN_PAGE",
    "Computed",
    "PlanPage",
    "acknowledge",
    "compute",
    "evaluate_current",
    "evaluate_tallies",
    "plan_pages",
    "unmatched_rules",
]


@dataclass(frozen=True)
class Computed:
    evaluation: Evaluation
    """The results. After a recording compute its mapping is empty (`partial`): the tasks
    to plan are read page by page with their mapping (`plan_pages`)."""
    tasks: list[Task]
    """Every stored live task, after a read-only compute (empty after a recording one)."""
    previous: dict[str, KRStatus]
    """Each key result's status at the previous evaluation."""
    scopes: dict[str, frozenset[int] | None] = field(default_factory=dict)
    """After a recording compute, per instance the store ids of the tasks whose plan inputs
    may have changed (`incremental.plan_inputs_changed`); None: every task of the instance."""
    update: TallyUpdate | None = None
    """The stored tallies this evaluation came from (None for a read-only compute)."""

    @property
    def incremental(self) -> bool:
        """True when some instance plans only the tasks that changed."""
        return any(scope is not None for scope in self.scopes.values())

    @property
    def status_changes(self) -> list[str]:
        """Ids of key results whose status differs from the previous evaluation."""
        return [
            kr_id
            for kr_id, kr in self.evaluation.key_results.items()
            if kr_id in self.previous and self.previous[kr_id] is not kr.status
        ]


PLAN_PAGE = 5_000
"""Tasks loaded and planned at a time: memory stays at one page whatever the store holds."""


@dataclass(frozen=True)
class PlanPage:
    """Some of an instance's tasks to plan, with the evaluation mapping exactly them."""

    tasks: list[tuple[int, Task]]
    """(store id, task), live tasks only, in id order."""
    evaluation: Evaluation


def plan_pages(
    session: Session,
    config: Config,
    computed: Computed,
    instance: str,
    *,
    size: int | None = None,
) -> Iterator[PlanPage]:
    """The tasks of `instance` to plan after a recording compute, a page at a time (of
    `size`, default `PLAN_PAGE`), each with the evaluation restricted to its tasks' mapping."""
    size = size or PLAN_PAGE
    if computed.update is None:
        raise ValueError("plan_pages needs a recording compute (a read-only one has its tasks)")
    if instance not in computed.scopes:
        return
    scope = computed.scopes[instance]
    if scope is None:
        pages: Iterator[list[tuple[int, Task]]] = iter_live_tasks(session, instance, page=size)
    else:
        pages = _pages_of(session, sorted(scope), size)
    for with_ids in pages:
        if not with_ids:
            continue
        links = load_links(session, [task_id for task_id, _ in with_ids])
        mapping = _partial_mapping(with_ids, links, config)
        yield PlanPage(with_ids, replace(computed.evaluation, mapping=mapping, partial=True))


def _pages_of(session: Session, ids: list[int], size: int) -> Iterator[list[tuple[int, Task]]]:
    for start in range(0, len(ids), size):
        loaded = load_tasks_by_id(session, ids[start : start + size])
        yield [(i, loaded[i]) for i in sorted(loaded) if not loaded[i].deleted]


def compute(
    store: Store,
    config: Config,
    *,
    now: datetime,
    record: bool,
    run_id: int | None = None,
    full: bool = False,
    instances: Sequence[str] | None = None,
    dry_run: bool = False,
) -> Computed:
    """Evaluate every objective over the stored tasks.

    With `record`, the config's OKR definitions are upserted, the stored mapping and tallies
    refreshed (incrementally unless `full`), the results recorded, and the tasks to plan of
    each of `instances` (default: every enabled one) named in `scopes` (read them with
    `plan_pages`); call `acknowledge` once an instance's plans are written. `dry_run` keeps
    the mapping and tallies (they follow the stored tasks) but records no evaluation and
    moves no planning cursor. Without `record` nothing is written and every task is loaded.
    """
    if not record:
        return _compute_in_memory(store, config, now=now)
    names = list(instances) if instances is not None else _enabled(config)
    with store.session() as session:
        sync_definitions(session, config.objectives, config.initiatives)
        update = refresh_tallies(session, config, now=now, full=full)
        history = value_history(session)
        entries = checkins(session)
        previous = {kr: status for kr, (status, _, _) in latest_statuses(session).items()}
        evaluation = evaluate_tallies(config, update.tallies, entries, history, now=now)
        refresh = config.push.comment_refresh
        scopes = {
            name: _frozen(
                plan_inputs_changed(
                    session,
                    name,
                    update,
                    evaluation,
                    now=now,
                    refresh=refresh,
                    advance=not dry_run,
                )
            )
            for name in names
        }
        if not dry_run:
            record_evaluation(
                session,
                evaluation.objectives,
                list(evaluation.initiatives.values()),
                run_id,
                now,
            )
    return Computed(
        evaluation=replace(evaluation, partial=True),
        tasks=[],
        previous=previous,
        scopes=scopes,
        update=update,
    )


def evaluate_current(store: Store, config: Config, *, now: datetime) -> Evaluation | None:
    """The evaluation a sync would make now, from the stored tallies, writing nothing and
    loading no task (its mapping is empty: `partial`); None when the tallies are behind the
    stored tasks (changes a sync has not counted yet, or other mapping rules)."""
    with store.session() as session:
        state = load_state(session, TALLY_STATE)
        if (
            state is None
            or state.fingerprint != mapping_fingerprint(config)
            or latest_change(session) > state.seq
        ):
            return None
        tallies = load_tallies(session)
        history = value_history(session)
        entries = checkins(session)
    evaluation = evaluate_tallies(config, tallies, entries, history, now=now)
    return replace(evaluation, partial=True)


def unmatched_rules(store: Store, config: Config) -> tuple[tuple[RuleRef, ...], bool]:
    """The initiative rules no live stored task matches, read a page at a time (memory stays
    at one page), and whether the store holds any task at all."""
    hits = RuleHits(config.initiatives)
    seen = False
    with store.session() as session:
        for page in iter_stored_tasks(session):
            seen = seen or any(not task.deleted for task in page)
            hits.add(page)
    return hits.unmatched, seen


def _frozen(ids: set[int] | None) -> frozenset[int] | None:
    return None if ids is None else frozenset(ids)


def acknowledge(store: Store, computed: Computed, instance: str, *, now: datetime) -> None:
    """Record that `instance`'s plans from `computed` are written to its queue.

    Until then the same tasks are planned again by the next compute (a crash or a failed
    connector loses nothing). A read-only compute has nothing to acknowledge.
    """
    if computed.update is None:
        return
    with store.session() as session:
        acknowledge_plans(session, instance, computed.update, computed.evaluation, now)


def _enabled(config: Config) -> list[str]:
    return [name for name, settings in config.connectors.items() if settings.enabled]


def evaluate_tallies(
    config: Config,
    tallies: Mapping[TallyKey, TaskTally],
    entries: Sequence[CheckIn],
    history: History,
    *,
    now: datetime,
) -> Evaluation:
    """Every result from the stored tallies; the evaluation's mapping is left empty."""
    empty = TaskTally()
    initiative_results = {}
    for initiative in config.initiatives:
        tallied = settled(tallies.get((INITIATIVE, initiative.id), empty))
        initiative_results[initiative.id] = tallied_progress(
            initiative, tallied, task_count(tallied)
        )
    measures = {
        kr.id: measure_tallied(kr, tallies.get((KEY_RESULT, kr.id)))
        for objective in config.objectives
        for kr in objective.key_results
        if kr.source is KeyResultSource.TASKS
    }
    return evaluate_measured(
        config.objectives,
        config.initiatives,
        initiative_results,
        measures,
        TaskMapping(by_task={}, by_initiative={}, by_key_result={}),
        entries,
        history,
        now=now,
        tolerance=config.engine.tolerance,
        confidence_overrides=config.engine.confidence_overrides,
    )


def _partial_mapping(
    with_ids: Sequence[tuple[int, Task]], links: Mapping[int, Links], config: Config
) -> TaskMapping:
    """The mapping restricted to the loaded tasks, from their stored links."""
    by_initiative: dict[str, list[TaskView]] = {i.id: [] for i in config.initiatives}
    by_key_result: dict[str, list[TaskView]] = {
        kr.id: []
        for objective in config.objectives
        for kr in objective.key_results
        if kr.source is KeyResultSource.TASKS
    }
    by_task: dict[TaskKey, frozenset[str]] = {}
    empty = Links()
    for task_id, task in with_ids:
        found = links.get(task_id, empty)
        if found.initiatives:
            by_task[(task.connector, task.external_id)] = found.initiatives
        for initiative_id in found.initiatives:
            by_initiative.setdefault(initiative_id, []).append(task)
        for kr_id in found.key_results:
            by_key_result.setdefault(kr_id, []).append(task)
    return TaskMapping(by_task=by_task, by_initiative=by_initiative, by_key_result=by_key_result)


def _compute_in_memory(store: Store, config: Config, *, now: datetime) -> Computed:
    with store.session() as session:
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
    return Computed(evaluation=evaluation, tasks=tasks, previous=previous)
