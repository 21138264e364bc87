"""One slice of an instance's write queue, without pulling or planning: the daemon's
continuation of a push that paused at its bound (`okrbridge.sync.drain.DrainBound`).

The queue holds the desired state of the last plan (every pull plans again what is still
queued), so a slice only claims and applies rows; it is recorded as a run of kind `drain`.
The caller holds the instance's lease.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from okrbridge.config.schema import Config
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.store.db import Store
from okrbridge.store.repos.runs import finish_run, start_run
from okrbridge.sync.drain import DrainBound, DrainResult, ProgressCallback, drain
from okrbridge.sync.runner import ConnectorReport, build_connector

__all__ = ["drain_slice"]

log = logging.getLogger(__name__)


def drain_slice(
    config: Config,
    store: Store,
    registry: ConnectorRegistry,
    instance: str,
    *,
    env: Mapping[str, str],
    bound: DrainBound,
    on_progress: ProgressCallback | None = None,
    now: datetime | None = None,
) -> tuple[ConnectorReport, DrainResult]:
    """Drain `instance`'s queue up to `bound`; the report as a sync run reports it, and the
    drain's result (`paused`: rows are left for another slice). Failures are recorded, never
    raised."""
    report = ConnectorReport(instance, config.connectors[instance].type)
    result = DrainResult()
    with store.session() as session:
        report.run_id = start_run(session, instance, "drain", False, now=now)
    try:
        connector = build_connector(registry, config, instance, env)
        report.stats = connector.stats
        try:
            drain(
                store,
                connector,
                report.run_id,
                on_progress=on_progress,
                result=result,
                now=now,
                bound=bound,
            )
        finally:
            connector.close()
    except Exception as exc:  # recorded on the run like any connector failure
        log.warning("drain of %s failed: %s", instance, exc, exc_info=True)
        report.error = str(exc) or type(exc).__name__
    report.writes_made, report.writes_failed = result.writes, result.failed
    report.writes_pending = result.remaining
    if report.error is None and result.stopped:
        report.error = f"push stopped: {result.stopped} ({result.remaining} changes still queued)"
    elif report.error is None and result.errors:
        report.error = f"{len(result.errors)} write(s) failed: " + "; ".join(result.errors[:3])
    _record(store, report)
    return report, result


def _record(store: Store, report: ConnectorReport) -> None:
    assert report.run_id is not None
    stats = {
        "requests": report.stats.requests,
        "writes": report.stats.writes,
        "rate_limit_waits": report.stats.rate_limit_waits,
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
                writes_made=report.writes_made,
                writes_failed=report.writes_failed,
            )
    except Exception:  # the store itself failing shows in the daemon's health
        log.exception("could not record the end of drain run %s", report.run_id)
