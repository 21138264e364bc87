"""Prometheus metrics of one daemon process (own registry, so tests can build many)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from okrbridge.logs import get_logger
from okrbridge.store.db import Store
from okrbridge.store.models import InboxRow
from okrbridge.sync.runner import ConnectorReport

__all__ = ["DaemonMetrics"]

log = get_logger(__name__)

ACK_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class DaemonMetrics:
    """Counters and histograms the daemon updates; inbox gauges are read at scrape time."""

    def __init__(self, store: Store | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.syncs = Counter(
            "okrbridge_syncs", "Sync runs by instance, kind and outcome.",
            ["instance", "kind", "outcome"], registry=r,
        )  # fmt: skip
        self.errors = Counter(
            "okrbridge_sync_errors", "Failed sync runs.", ["instance"], registry=r
        )
        self.requests = Counter(
            "okrbridge_tool_requests", "HTTP requests made to a tool.", ["instance"], registry=r
        )
        self.rate_limit_waits = Counter(
            "okrbridge_rate_limit_waits", "Waits imposed by a tool's rate limit.",
            ["instance"], registry=r,
        )  # fmt: skip
        self.writes = Counter(
            "okrbridge_writes", "Write requests made to a tool (labels, comments, fields).",
            ["instance"], registry=r,
        )  # fmt: skip
        self.webhooks = Counter(
            "okrbridge_webhook_requests", "Webhook requests answered, by status code.",
            ["instance", "code"], registry=r,
        )  # fmt: skip
        self.ack_seconds = Histogram(
            "okrbridge_webhook_ack_seconds", "Time from request start to the 202 answer.",
            ["instance"], buckets=ACK_BUCKETS, registry=r,
        )  # fmt: skip
        self.deliveries = Counter(
            "okrbridge_deliveries_processed", "Inbox deliveries processed, by outcome.",
            ["instance", "outcome"], registry=r,
        )  # fmt: skip
        if store is not None:
            r.register(InboxCollector(store))

    def record_run(self, kind: str, report: ConnectorReport) -> None:
        instance = report.instance
        self.syncs.labels(instance, kind, "ok" if report.ok else "failed").inc()
        if not report.ok:
            self.errors.labels(instance).inc()
        self.requests.labels(instance).inc(report.stats.requests)
        self.rate_limit_waits.labels(instance).inc(report.stats.rate_limit_waits)
        self.writes.labels(instance).inc(report.writes_made)


class InboxCollector(Collector):
    """`okrbridge_inbox_depth{status}` and `okrbridge_inbox_oldest_pending_seconds`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "okrbridge_inbox_depth", "Inbox deliveries by status.", labels=["status"]
        )
        age = GaugeMetricFamily(
            "okrbridge_inbox_oldest_pending_seconds", "Age of the oldest pending delivery."
        )
        try:
            with self.store.session() as session:
                counts = dict(
                    session.execute(
                        select(InboxRow.status, func.count()).group_by(InboxRow.status)
                    ).all()
                )
                oldest = session.scalar(
                    select(func.min(InboxRow.received_at)).where(InboxRow.status == "pending")
                )
        except Exception as exc:  # a scrape must not fail because the store is down
            log.warning("inbox metrics unavailable", error=str(exc))
            return
        for status in ("pending", "done", "parked"):
            depth.add_metric([status], float(counts.get(status, 0)))
        waited = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
        age.add_metric([], max(0.0, waited))
        yield depth
        yield age
