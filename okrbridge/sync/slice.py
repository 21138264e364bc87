"""One slice of an instance's write queue, without pulling or planning: the daemon's
continuation of a push that paused at its bound (`okrbridge.sync.drain.DrainBound`).

The queue holds the desired state of each task's last plan (a task is planned again when
its inputs change), so a slice only claims and applies rows; it is recorded as a run of
kind `drain`.
The caller holds the instance's lease.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from okrbridge.config.schema import Config
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.store.db import Store
from okrbridge.store.repos.runs import start_run
from okrbridge.sync.drain import DrainBound, DrainResult, ProgressCallback, drain
from okrbridge.sync.runner import ConnectorReport, build_connector, record_finish, report_drain

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
    report_drain(report, result)
    record_finish(store, report)
    return report, result
