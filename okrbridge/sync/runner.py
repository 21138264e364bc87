"""`okrbridge sync`: pull -> store -> compute -> plan -> push, per connector instance.

A connector that fails (bad credentials, outage, a bug in its code, a write the tool refused,
another sync of the same instance holding its lease) is reported with its error and skipped
from then on; the other connectors finish.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from okrbridge.config.schema import Config
from okrbridge.connector.base import Connector, ConnectorStats
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import TaskRef
from okrbridge.engine import Evaluation, RuleRef
from okrbridge.marks import StatusLabels
from okrbridge.store.db import Store
from okrbridge.store.models import TaskInitiativeRow, TaskRow
from okrbridge.store.repos.runs import finish_run, start_run
from okrbridge.sync.compute import Computed, acknowledge, compute, plan_pages
from okrbridge.sync.connector_plan import TaskPlan, plan_connector
from okrbridge.sync.drain import DrainBound, DrainResult, drain
from okrbridge.sync.lease import InstanceBusy, instance_lease
from okrbridge.sync.pull import PullResult, needs_full_pass, pull_into_store
from okrbridge.sync.task_changes import Pushed
from okrbridge.sync.write_queue import QueueReplacement, change_actions, pushed_of

__all__ = [
    "PLAN_SAMPLE",
    "ConnectorReport",
    "PlanCounts",
    "PlanSink",
    "SyncObserver",
    "SyncReport",
    "build_connector",
    "record_finish",
    "report_drain",
    "run_sync",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

PLAN_SAMPLE = 100
"""Plans a sync report keeps per instance by default (every plan is counted)."""
PlanSink = Callable[[str, Sequence["TaskPlan"]], None]
"""Given an instance's name and a page of its plans, as they are made."""


class SyncObserver(Protocol):
    """Progress hooks for a UI; every method is optional in spirit (implement as no-ops)."""

    def pull_started(self, instance: str, full: bool) -> None: ...
    def pull_page(self, instance: str, tasks: int) -> None: ...
    def push_progress(self, instance: str, done: int, total: int) -> None: ...


@dataclass
class ConnectorReport:
    instance: str
    type: str
    full: bool = False
    pulled: int = 0
    changed: int = 0
    deleted: int = 0
    mapped: int = 0
    status_changes: int = 0
    writes_planned: int = 0
    writes_made: int = 0
    writes_failed: int = 0
    writes_pending: int = 0
    error: str | None = None
    stats: ConnectorStats = field(default_factory=ConnectorStats)
    planned: list[TaskPlan] = field(default_factory=list)
    """The plans, in planning order: all of them, or the first `run_sync(keep_plans=...)`."""
    counts: PlanCounts = field(default_factory=lambda: PlanCounts())
    """Every plan counted, kept or not."""
    run_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def tally(
        self, plans: Sequence[TaskPlan], pushed: Mapping[int, Pushed], keep: int | None
    ) -> None:
        """Count a page of plans; keep them while fewer than `keep` are kept (None: all)."""
        for plan in plans:
            self.counts.add(plan)
            change = plan.planned.change
            before = pushed.get(plan.task_id)
            if (
                change.add_label
                and before is not None
                and before.label not in (None, change.add_label)
            ):
                self.status_changes += 1
        room = len(plans) if keep is None else max(0, keep - len(self.planned))
        self.planned += plans[:room]


@dataclass
class PlanCounts:
    """The planned writes of one instance, counted the way the summary shows them."""

    tasks: int = 0
    labels_added: int = 0
    labels_removed: int = 0
    comments: int = 0
    fields: int = 0
    writes: int = 0
    """Writes (actions) the plans make."""

    def add(self, plan: TaskPlan) -> None:
        change = plan.planned.change
        self.tasks += 1
        self.writes += len(change_actions_of(plan))
        self.labels_added += change.add_label is not None
        self.labels_removed += len(change.remove_labels)
        self.comments += change.comment is not None
        self.fields += change.field_value is not None


@dataclass
class SyncReport:
    connectors: list[ConnectorReport]
    evaluation: Evaluation | None
    dry_run: bool
    key_result_status_changes: list[str] = field(default_factory=list)
    unmatched_rules: tuple[RuleRef, ...] | None = None
    """When this sync recounted every task (a first sync, `--full`): the initiative rules
    that matched none (None: not judged)."""

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.connectors)


def build_connector(
    registry: ConnectorRegistry, config: Config, instance: str, env: Mapping[str, str]
) -> Connector[Any]:
    settings = config.connectors[instance]
    cls = registry.get(settings.type)
    return cls(instance, settings, env, labels=StatusLabels(config.push.label_prefix))


def run_sync(
    config: Config,
    store: Store,
    registry: ConnectorRegistry,
    *,
    dry_run: bool = False,
    full: bool = False,
    only: Sequence[str] = (),
    now: datetime | None = None,
    observer: SyncObserver | None = None,
    env: Mapping[str, str] | None = None,
    pull: bool = True,
    first: Iterable[TaskRef] = (),
    locked: bool = False,
    lease_wait: float = 5.0,
    keep_plans: int | None = PLAN_SAMPLE,
    plan_sink: PlanSink | None = None,
    drain_bound: DrainBound | None = None,
) -> SyncReport:
    """One sync of every enabled connector instance (or those named in `only`).

    `pull=False` recomputes and pushes from what the store holds (after webhook events);
    the tasks in `first` (those a webhook changed) are written before any other. Each instance
    is synced under its store lease (`okrbridge.sync.lease`): an instance another run holds
    for longer than `lease_wait` seconds fails, writing nothing. `locked`: the caller already
    holds the leases (the daemon's jobs). Plans are written to the queue a page at a time;
    each report keeps the first `keep_plans` of them (None: all, for `--json`)
    and counts every one; `plan_sink` is given each instance's plans a page at a time (to
    list them all without holding them). `drain_bound`: each instance's push pauses there,
    leaving the rest of its queue for a later drain (the daemon drains in slices).
    """
    now = now or datetime.now(UTC)
    env = os.environ if env is None else env
    names = [n for n, s in config.connectors.items() if s.enabled and (not only or n in only)]
    reports = {name: ConnectorReport(name, config.connectors[name].type) for name in names}
    triggered: dict[str, set[str]] = {}
    for ref in first:
        triggered.setdefault(ref.connector, set()).add(ref.external_id)
    connectors: dict[str, Connector[Any]] = {}
    computed: Computed | None = None
    leases = ExitStack()
    try:
        for name, report in reports.items():
            if not locked and not _guard(report, partial(_lease, leases, store, name, lease_wait)):
                continue  # another run holds the instance: nothing is read or written
            built = _guard(report, partial(build_connector, registry, config, name, env))
            if built is not None:
                connectors[name] = built
                report.stats = built.stats
                _guard(report, partial(_preflight, built))
        for name, connector in connectors.items():
            report = reports[name]
            if pull:
                report.full = full or needs_full_pass(
                    store, name, config.schedule.full_interval, now
                )
            kind = ("full" if report.full else "incremental") if pull else "push"
            with store.session() as session:
                report.run_id = start_run(session, name, kind, dry_run)
            if pull:
                _guard(report, partial(_pull, store, connector, report, observer, now))
        computed = compute(
            store,
            config,
            now=now,
            record=True,
            dry_run=dry_run,
            full=full,
            instances=list(connectors),
        )
        for name, connector in connectors.items():
            step = partial(
                _push,
                store,
                config,
                connector,
                reports[name],
                computed,
                _PushOptions(
                    dry_run,
                    now,
                    frozenset(triggered.get(name, ())),
                    keep_plans,
                    drain_bound,
                    plan_sink,
                ),
                observer,
            )
            _guard(reports[name], step)
    finally:
        for connector in connectors.values():
            connector.close()
        for report in reports.values():
            record_finish(store, report)
        leases.close()
    return SyncReport(
        connectors=list(reports.values()),
        evaluation=computed.evaluation,
        dry_run=dry_run,
        key_result_status_changes=computed.status_changes,
        unmatched_rules=None if computed.update is None else computed.update.unmatched_rules,
    )


@dataclass(frozen=True)
class _PushOptions:
    dry_run: bool
    now: datetime
    first: frozenset[str]
    keep_plans: int | None
    bound: DrainBound | None = None
    plan_sink: PlanSink | None = None


def _lease(leases: ExitStack, store: Store, instance: str, wait: float) -> bool:
    """Take the instance's sync lease for the rest of the run; raises `InstanceBusy`."""
    leases.enter_context(instance_lease(store, instance, wait=wait))
    return True


def _preflight(connector: Connector[Any]) -> None:
    problems = connector.preflight()
    if problems:
        raise RuntimeError("the tool would refuse writes: " + "; ".join(problems))


def _guard(report: ConnectorReport, step: Callable[[], T]) -> T | None:
    """Run one connector step; any failure is recorded on its report, never raised."""
    if report.error is not None:
        return None
    try:
        return step()
    except InstanceBusy as exc:
        log.warning("connector %s skipped: %s", report.instance, exc)
        report.error = str(exc)
        return None
    except Exception as exc:  # one connector's failure must not stop the others
        log.warning("connector %s failed: %s", report.instance, exc, exc_info=True)
        report.error = str(exc) or type(exc).__name__
        return None


def _pull(
    store: Store,
    connector: Connector[Any],
    report: ConnectorReport,
    observer: SyncObserver | None,
    now: datetime,
) -> None:
    assert report.run_id is not None
    if observer is not None:
        observer.pull_started(report.instance, report.full)
    on_page = None if observer is None else (lambda n: observer.pull_page(report.instance, n))
    result: PullResult = pull_into_store(
        store, connector, report.run_id, full=report.full, on_page=on_page, now=now
    )
    report.pulled, report.changed, report.deleted = result.pulled, result.changed, result.deleted


def _push(
    store: Store,
    config: Config,
    connector: Connector[Any],
    report: ConnectorReport,
    computed: Computed,
    options: _PushOptions,
    observer: SyncObserver | None,
) -> None:
    assert report.run_id is not None
    instance = connector.instance
    with store.session() as session:  # one transaction: the queue is replaced as a whole
        report.mapped = _mapped_count(session, instance)
        queue = (
            None
            if options.dry_run
            else QueueReplacement(session, instance, report.run_id, computed.scopes.get(instance))
        )
        for page in plan_pages(session, config, computed, instance):
            pushed = pushed_of(session, [task_id for task_id, _ in page.tasks])
            plans = plan_connector(
                config,
                config.connectors[instance],
                connector.capabilities,
                page.tasks,
                page.evaluation,
                pushed,
                connector.task_capabilities,
                now=options.now,
                first=options.first,
            )
            report.tally(plans, pushed, options.keep_plans)
            if options.plan_sink is not None:
                options.plan_sink(instance, plans)
            if queue is not None:
                queue.add(plans)
        if queue is not None:
            report.writes_planned = queue.finish()
    if options.dry_run:
        report.writes_planned = report.counts.writes
        return
    acknowledge(store, computed, instance, now=options.now)
    progress = (
        None
        if observer is None
        else (lambda done, total: observer.push_progress(instance, done, total))
    )
    result = DrainResult()
    try:
        drain(
            store,
            connector,
            report.run_id,
            on_progress=progress,
            result=result,
            now=options.now,
            bound=options.bound,
        )
    finally:  # an interrupted drain still reports the writes it made
        report_drain(report, result)


def report_drain(report: ConnectorReport, result: DrainResult) -> None:
    """Put a drain's writes on the report, and what stopped or failed as its error (an
    error already there stays)."""
    report.writes_made, report.writes_failed = result.writes, result.failed
    report.writes_pending = result.remaining
    if report.error is not None:
        return
    if result.stopped:
        report.error = f"push stopped: {result.stopped} ({result.remaining} changes still queued)"
    elif result.errors:
        shown = "; ".join(result.errors[:3]) + ("; ..." if len(result.errors) > 3 else "")
        report.error = f"{len(result.errors)} write(s) failed: {shown}"


def _mapped_count(session: Session, instance: str) -> int:
    """Live tasks of `instance` that serve at least one initiative."""
    query = (
        select(func.count(distinct(TaskInitiativeRow.task_id)))
        .join(TaskRow, TaskRow.id == TaskInitiativeRow.task_id)
        .where(TaskRow.connector == instance, TaskRow.deleted.is_(False))
    )
    return int(session.scalar(query) or 0)


def change_actions_of(plan: TaskPlan) -> list[tuple[str, str]]:
    change = plan.planned.change
    comment = change.comment
    return change_actions(
        {
            "add_label": change.add_label,
            "remove_labels": list(change.remove_labels),
            "comment": None
            if comment is None
            else {"action": comment.action.value, "body": comment.body},
            "field_value": change.field_value,
        }
    )


def record_finish(store: Store, report: ConnectorReport) -> None:
    """Record the end of the report's run (nothing when it never started)."""
    if report.run_id is None:
        return
    stats = {
        "requests": report.stats.requests,
        "writes": report.stats.writes,
        "retries": report.stats.retries,
        "rate_limit_waits": report.stats.rate_limit_waits,
        "rate_limit_wait_seconds": round(report.stats.rate_limit_wait_seconds, 3),
        "cost_points": report.stats.cost_points,
        "writes_pending": report.writes_pending,
    }
    try:
        with store.session() as session:
            finish_run(
                session,
                report.run_id,
                "ok" if report.ok else "failed",
                error=report.error,
                stats=stats,
                pulled=report.pulled,
                changed=report.changed,
                deleted=report.deleted,
                mapped=report.mapped,
                status_changes=report.status_changes,
                writes_planned=report.writes_planned,
                writes_made=report.writes_made,
                writes_failed=report.writes_failed,
            )
    except Exception:  # the store itself failing is reported by the caller
        log.exception("could not record the end of sync run %s", report.run_id)
