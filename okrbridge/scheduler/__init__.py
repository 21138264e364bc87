"""The daemon's scheduled work: sync jobs under store leases, the debounced push, health."""

from okrbridge.scheduler.health import ConnectorHealth, HealthBoard
from okrbridge.scheduler.jobs import JobKind, JobOutcome, Stopped, SyncJobs, lease_ttl
from okrbridge.scheduler.lease import LeaseHold, Leases, process_id
from okrbridge.scheduler.service import Debouncer, build_scheduler

__all__ = [
    "ConnectorHealth",
    "Debouncer",
    "HealthBoard",
    "JobKind",
    "JobOutcome",
    "LeaseHold",
    "Leases",
    "Stopped",
    "SyncJobs",
    "build_scheduler",
    "lease_ttl",
    "process_id",
]
