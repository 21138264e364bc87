"""Push: drain a connector's queue through `apply`, paced under its write budget.

Failures are classified once here: a write with an unknown outcome (`UncertainWrite`, or any
other transient connector error) is retried in this drain, flagged uncertain;
auth, rate-limit exhaustion and outages stop this connector's drain (rows stay queued for the
next run); a request the tool refuses fails that row only, and parks it: it is not planned
again until its task wants something else. Every failure is counted with its reason, so the
run is reported failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from okrbridge.connector.base import Connector, PushChange
from okrbridge.connector.errors import (
    AuthError,
    ConnectorError,
    RateLimitExhausted,
    RequestFailed,
    ToolUnavailable,
)
from okrbridge.connector.pacing import TokenBucket
from okrbridge.domain import StatusCategory, Task
from okrbridge.store.db import Store
from okrbridge.store.models import TaskRow
from okrbridge.sync.write_queue import (
    ClaimedItem,
    claim,
    pending_count,
    record_failure,
    record_success,
    to_change,
)

__all__ = [
    "DrainBound",
    "DrainResult",
    "ProgressCallback",
    "drain",
    "expected_writes",
    "load_task",
    "write_budget",
]

ProgressCallback = Callable[[int, int], None]
"""Called with (rows done, rows total) after each row."""
BATCH = 100
MAX_ATTEMPTS = 5
"""Attempts at one row before it is parked as failed (it is planned again on the next sync)."""


@dataclass
class DrainResult:
    made: int = 0
    failed: int = 0
    writes: int = 0
    remaining: int = 0
    paused: bool = False
    """The drain reached its bound (`DrainBound`) with rows still queued."""
    stopped: str | None = None
    """Why the drain stopped early (auth, rate limit, outage), or None."""
    errors: list[str] = field(default_factory=list)
    """`<task key>: <reason>` of each write that failed for good."""


@dataclass(frozen=True)
class DrainBound:
    """Where a drain pauses with rows left queued (they stay durable; the next drain goes on).

    The row in flight always finishes: the bound is checked before each claim.
    """

    seconds: float | None = None
    """Pause once this long has passed since the drain started."""
    deadline: float | None = None
    """Pause at this `time.monotonic()` (whichever of the two comes first)."""
    max_rows: int | None = None
    """Pause after this many rows (made, failed or skipped)."""
    yield_when: Callable[[], bool] | None = None
    """Checked before each claim: True pauses the drain (another job waits for the instance)."""
    budget: TokenBucket | None = None
    """The write budget to pace by, shared by successive slices so that each one does not start
    with a full burst (default: a fresh bucket per drain)."""


def write_budget(connector: Connector[Any]) -> TokenBucket:
    """Writes per second from the instance's override or the connector's default budget."""
    per_minute = connector.settings.write_budget_per_minute or connector.default_writes_per_minute
    return budget_per_minute(per_minute)


def budget_per_minute(per_minute: int) -> TokenBucket:
    """A bucket for `per_minute` writes, with a burst of a tenth of a minute (4 to 20)."""
    return TokenBucket(rate=per_minute / 60.0, capacity=max(4.0, min(per_minute / 6.0, 20.0)))


def expected_writes(change: PushChange) -> int:
    labels = 1 if (change.add_label or change.remove_labels) else 0
    return max(1, labels + (change.comment is not None) + (change.field_value is not None))


def load_task(store: Store, task_id: int) -> Task | None:
    with store.session() as session:
        row = session.get(TaskRow, task_id)
        if row is None or row.deleted:
            return None
        return Task.model_construct(
            connector=row.connector,
            external_id=row.external_id,
            key=row.key,
            url=row.url,
            title=row.title,
            container=row.container,
            status_name=row.status_name,
            status_category=StatusCategory(row.status_category),
            excluded=row.excluded,
            labels=tuple(row.labels),
            assignees=tuple(row.assignees),
            estimate=row.estimate,
            parent=row.parent,
            due=row.due,
            fields=dict(row.fields),
            updated_at=row.updated_at,
            deleted=row.deleted,
            raw=dict(row.raw),
        )


def drain(
    store: Store,
    connector: Connector[Any],
    run_id: int,
    *,
    budget: TokenBucket | None = None,
    on_progress: ProgressCallback | None = None,
    result: DrainResult | None = None,
    now: datetime | None = None,
    bound: DrainBound | None = None,
) -> DrainResult:
    """Apply queued changes (by priority) until the queue is empty, the tool stops us or the
    `bound` is reached (`result.paused`; the rest stays queued for the next drain).

    `result` is filled as writes are made, so a caller interrupted mid-way still knows them.
    """
    instance = connector.instance
    bound = bound or DrainBound()
    budget = budget or bound.budget or write_budget(connector)
    result = result if result is not None else DrainResult()
    with store.session() as session:
        total = pending_count(session, instance)
    done = 0
    ends = [bound.deadline, None if bound.seconds is None else time.monotonic() + bound.seconds]
    until = min((end for end in ends if end is not None), default=None)
    while result.stopped is None:
        if _at_bound(bound, done, until):
            result.paused = True
            break
        with store.session() as session:
            item = claim(session, instance)
        if item is None:
            break
        _apply_one(store, connector, item, run_id, budget, result, now)
        done += 1
        if on_progress is not None:
            on_progress(min(done, total), total)
    with store.session() as session:
        result.remaining = pending_count(session, instance)
    result.paused = result.paused and result.remaining > 0
    return result


def _at_bound(bound: DrainBound, done: int, until: float | None) -> bool:
    if bound.max_rows is not None and done >= bound.max_rows:
        return True
    if until is not None and time.monotonic() >= until:
        return True
    return bound.yield_when is not None and bound.yield_when()


def _apply_one(
    store: Store,
    connector: Connector[Any],
    item: ClaimedItem,
    run_id: int,
    budget: TokenBucket,
    result: DrainResult,
    now: datetime | None = None,
) -> None:
    """Apply one claimed row; sets `result.stopped` when the connector must stop draining."""
    instance = connector.instance
    task = load_task(store, item.task_id)
    if task is None:  # deleted since it was planned: nothing to mark
        with store.session() as session:
            record_failure(session, instance, item, "", "task deleted", final=True, run_id=run_id)
        return  # nothing was written and nothing needs to be: not a failure of the run
    change = to_change(item, task)
    budget.acquire(expected_writes(change))
    started = time.monotonic()
    try:
        applied = connector.apply(change)
    except ConnectorError as exc:
        _failed(store, connector, item, task, exc, run_id, result)
        return
    extra = applied.requests - expected_writes(change)
    if extra > 0:
        budget.acquire(min(extra, budget.capacity))
    with store.session() as session:
        record_success(session, instance, item, task, applied, run_id, now=now)
    result.made += 1
    result.writes += applied.requests
    connector.stats.extra["push_seconds"] = (
        connector.stats.extra.get("push_seconds", 0.0) + time.monotonic() - started
    )


def _failed(
    store: Store,
    connector: Connector[Any],
    item: ClaimedItem,
    task: Task,
    exc: ConnectorError,
    run_id: int,
    result: DrainResult,
) -> None:
    """Classify a failed apply: refused (final), tool unavailable (stop), unknown (retry)."""
    park = False
    if isinstance(exc, AuthError | RateLimitExhausted | ToolUnavailable):
        result.stopped = str(exc)
        final = False
    elif isinstance(exc, RequestFailed):
        final = park = True
    else:
        # Outcome unknown: claimed again later in this drain, flagged uncertain so the
        # connector looks for what the lost attempt may have created before creating it.
        final = item.attempts >= MAX_ATTEMPTS
    with store.session() as session:
        record_failure(
            session,
            connector.instance,
            item,
            task.key,
            str(exc),
            final=final,
            run_id=run_id,
            park=park,
        )
    if final:
        result.failed += 1
        result.errors.append(f"{task.key}: {exc}")
