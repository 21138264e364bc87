"""The inbox worker: claims stored deliveries, parses them and applies their events.

The request path only verified and screened a delivery; its one parse happens here, where the
connector may look up identities (its bot account, boards, projects) and re-read tasks. When
the tool cannot be reached, the delivery waits with backoff and so does every other delivery
of that connector instance (one failed lookup stands for all of them): no delivery is parked
because a tool was down, and a failed lookup never changes what an event means.

Applying a delivery and marking it done happen in ONE transaction, conditional on this worker
still holding the claim; so a crash at any point either applies a delivery fully and once, or
not at all (it is claimed again when its lock expires).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from okrbridge.connector.base import (
    Connector,
    EventKind,
    WebhookEvent,
    WebhookPayloadError,
    WebhookRequest,
)
from okrbridge.connector.errors import ConnectorError, RequestFailed
from okrbridge.daemon.inbox_admin import release_claims
from okrbridge.domain import Task
from okrbridge.logs import bound, get_logger
from okrbridge.marks import StatusLabels
from okrbridge.runtime.metrics import DaemonMetrics
from okrbridge.store.db import Store
from okrbridge.store.models import TaskRow
from okrbridge.store.repos.inbox import (
    Delivery,
    claim_deliveries,
    finish_delivery,
    park_delivery,
    retry_delivery,
)
from okrbridge.store.repos.tasks import mark_deleted, upsert_tasks
from okrbridge.store.text import clean_text
from okrbridge.sync.reconcile import reconcile_marks

__all__ = ["InboxWorker", "OnChanged", "RetryPolicy", "apply_events"]

log = get_logger(__name__)

OnChanged = Callable[[str, Sequence[str]], None]
"""Called with a connector instance and the external ids of the tasks a delivery changed."""


class _LostClaim(Exception):  # noqa: N818
    """Our lock on the delivery expired and another worker took it: roll back."""


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between attempts of a failing delivery, and when to give up (park it)."""

    max_attempts: int = 8
    base_delay: float = 2.0
    max_delay: float = 600.0

    def delay(self, attempts: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1)))


class InboxWorker:
    """A thread that processes due deliveries in arrival order; `wake()` after new ones."""

    def __init__(
        self,
        store: Store,
        connectors: Mapping[str, Connector[Any]],
        *,
        worker_id: str,
        on_changed: OnChanged,
        metrics: DaemonMetrics | None = None,
        retry: RetryPolicy | None = None,
        batch: int = 20,
        lock_seconds: float = 120.0,
        poll_seconds: float = 1.0,
    ) -> None:
        self.store, self.connectors, self.worker_id = store, connectors, worker_id
        self.on_changed, self.metrics = on_changed, metrics
        self.retry = retry or RetryPolicy()
        self.batch, self.lock_seconds, self.poll_seconds = batch, lock_seconds, poll_seconds
        self._wake, self._stop = threading.Event(), threading.Event()
        self._outages: dict[str, int] = {}  # instance -> consecutive "tool down" failures
        self._paused_until: dict[str, float] = {}  # instance -> monotonic time
        self._thread = threading.Thread(target=self._run, name="inbox-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 15.0) -> None:
        """Finish the delivery in hand, hand the rest of the batch back, end the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self.process_once()
            except Exception as exc:  # the store is unreachable: wait and try again
                log.warning("inbox worker cannot claim deliveries", error=str(exc))
                handled = 0
            if handled == 0:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def process_once(self) -> int:
        """Claim one batch and process it; return how many deliveries were claimed."""
        with self.store.session() as session:
            claimed = claim_deliveries(
                session, self.worker_id, self.batch, self.lock_seconds, exclude=self._paused()
            )
        waiting: list[int] = []
        for index, delivery in enumerate(claimed):
            if self._stop.is_set():
                waiting.extend(d.id for d in claimed[index:])
                break
            if delivery.connector in self._paused():  # its tool went down earlier in the batch
                waiting.append(delivery.id)
                continue
            with bound(connector=delivery.connector, delivery=delivery.delivery_id):
                self._process(delivery)
        if waiting:
            with self.store.session() as session:
                release_claims(session, waiting, self.worker_id)
        return len(claimed) - len(waiting)

    def _paused(self) -> list[str]:
        """Instances whose tool was unreachable a moment ago: their deliveries wait."""
        now = time.monotonic()
        return [name for name, until in self._paused_until.items() if until > now]

    def _process(self, delivery: Delivery) -> None:
        connector = self.connectors.get(delivery.connector)
        if connector is None:
            self._park(delivery, f"no enabled connector instance {delivery.connector!r}")
            return
        request = WebhookRequest("POST", "", dict(delivery.headers), delivery.body)
        try:  # the one parse of this delivery, and the re-reads its events ask for
            events = connector.parse_webhook(request)
            fetched = _refresh(connector, events)
        except WebhookPayloadError as exc:
            self._park(delivery, f"unparseable delivery: {exc}")
            return
        except ConnectorError as exc:
            if isinstance(exc, RequestFailed):  # the tool refused this request: not an outage
                self._failed(delivery, exc)
            else:
                self._tool_down(delivery, exc)
            return
        except Exception as exc:
            self._failed(delivery, exc)
            return
        self._tool_back(delivery.connector)
        try:
            with self.store.session() as session:
                changed = apply_events(
                    session, delivery.connector, events, fetched, labels=connector.labels
                )
                if not finish_delivery(session, delivery.id, worker=self.worker_id):
                    raise _LostClaim
        except _LostClaim:
            log.warning("delivery claim lost; another worker handles it")
            return
        except Exception as exc:
            self._failed(delivery, exc)
            return
        self._count(delivery, "applied")
        log.info(
            "delivery applied", events=len(events), changed=len(changed), attempt=delivery.attempts
        )
        if changed:
            self.on_changed(delivery.connector, changed)

    def _tool_down(self, delivery: Delivery, exc: ConnectorError) -> None:
        """The tool is unreachable: this delivery and the instance's others wait (backoff),
        however long the outage lasts; none is parked for it."""
        error = f"{type(exc).__name__}: {exc}"
        outages = self._outages.get(delivery.connector, 0) + 1
        self._outages[delivery.connector] = outages
        delay = self.retry.delay(outages)
        self._paused_until[delivery.connector] = time.monotonic() + delay
        with self.store.session() as session:
            retry_delivery(session, delivery.id, error, delay, worker=self.worker_id)
        self._count(delivery, "retried")
        if outages == 1:
            log.warning("tool unavailable; deliveries wait", error=error, retry_in=delay)
        else:
            log.debug("tool still unavailable", error=error, retry_in=delay)

    def _tool_back(self, instance: str) -> None:
        if self._outages.pop(instance, 0):
            self._paused_until.pop(instance, None)
            log.info("tool reachable again; deliveries resume", connector=instance)

    def _failed(self, delivery: Delivery, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if delivery.attempts >= self.retry.max_attempts:
            self._park(delivery, error)
            return
        delay = self.retry.delay(delivery.attempts)
        with self.store.session() as session:
            retry_delivery(session, delivery.id, error, delay, worker=self.worker_id)
        self._count(delivery, "retried")
        log.warning("delivery failed; will retry", error=error, retry_in=delay)

    def _park(self, delivery: Delivery, error: str) -> None:
        with self.store.session() as session:
            park_delivery(session, delivery.id, error, worker=self.worker_id)
        self._count(delivery, "parked")
        log.warning("delivery parked", error=error, attempts=delivery.attempts)

    def _count(self, delivery: Delivery, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.deliveries.labels(delivery.connector, outcome).inc()


def _refresh(connector: Connector[Any], events: Sequence[WebhookEvent]) -> dict[str, Task]:
    """Re-read the tasks of REFRESH events from the tool (outside any transaction).

    Only the ids asked for are kept: `fetch` omits tasks that are missing or outside the
    instance's scope, and those must not be stored."""
    ids = {
        e.external_id
        for e in events
        if e.kind is EventKind.REFRESH and e.external_id and not e.own_echo
    }
    if not ids:
        return {}
    fetched = connector.fetch(sorted(ids))
    return {task.external_id: task for task in fetched if task.external_id in ids}


def apply_events(
    session: Session,
    instance: str,
    events: Sequence[WebhookEvent],
    fetched: Mapping[str, Task],
    *,
    labels: StatusLabels | None = None,
) -> list[str]:
    """Apply events in order; return the external ids of the tasks whose stored state
    changed in a way that needs a push (the push's trigger), in first-change order.

    The bridge's own echoes are dropped. An event older than what the store holds for its task
    (a replica applied a later delivery first) is dropped too, so per-task order holds. A
    re-read task that `fetch` omitted (gone, or outside the instance's scope) is not stored;
    if the store had it, it is marked deleted. With `labels`, the bridge's marks that a task
    read from the tool carries (its comment found or gone) update the push state, as a pull's do.
    """
    changed: dict[str, None] = {}
    for event in events:
        ref = event.external_id or (event.task.external_id if event.task else None)
        if event.own_echo or event.kind is EventKind.IGNORE or not ref:
            continue
        if event.kind is EventKind.REFRESH:
            task = fetched.get(ref)
        elif event.kind is EventKind.UPSERT and not _is_stale(session, instance, event.task):
            task = event.task
        else:
            task = None
        if event.kind is EventKind.DELETE or (event.kind is EventKind.REFRESH and task is None):
            if mark_deleted(session, instance, [ref]):
                changed[clean_text(ref)] = None
        elif task is not None:
            upserted = upsert_tasks(session, [task], run_id=None).changed
            marks_moved = labels is not None and reconcile_marks(session, instance, [task], labels)
            if upserted or marks_moved:
                changed[clean_text(task.external_id)] = None
    return list(changed)


def _is_stale(session: Session, instance: str, task: Task | None) -> bool:
    if task is None:
        return True
    stored = session.scalar(
        select(TaskRow.updated_at).where(
            TaskRow.connector == instance, TaskRow.external_id == clean_text(task.external_id)
        )
    )
    return stored is not None and task.updated_at is not None and stored > task.updated_at
