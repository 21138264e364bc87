"""Repositories: small set-based functions over a `Session`; callers own the transaction."""

from okrbridge.store.repos.cursors import CursorState, get_cursor, get_cursor_state, set_cursor
from okrbridge.store.repos.definitions import sync_definitions
from okrbridge.store.repos.history import (
    add_checkin,
    checkins,
    latest_statuses,
    record_evaluation,
    value_history,
)
from okrbridge.store.repos.inbox import (
    Delivery,
    add_delivery,
    claim_deliveries,
    finish_delivery,
    park_delivery,
    retry_delivery,
)
from okrbridge.store.repos.leases import acquire_lease, release_lease, renew_lease
from okrbridge.store.repos.mapping import (
    MappingChange,
    TaskKey,
    load_task_initiatives,
    replace_task_initiatives,
)
from okrbridge.store.repos.runs import finish_run, last_runs, start_run
from okrbridge.store.repos.tasks import (
    UpsertResult,
    get_task_ids,
    load_tasks,
    mark_deleted,
    mark_unseen_deleted,
    upsert_tasks,
)
from okrbridge.store.repos.writes import (
    AuditRecord,
    ClaimedItem,
    QueueItem,
    audit,
    claim_next,
    complete,
    delete_push_states,
    enqueue,
    fail,
    pending_count,
    push_states,
    requeue_in_flight,
    save_push_state,
)

__all__ = [
    "AuditRecord",
    "ClaimedItem",
    "CursorState",
    "Delivery",
    "MappingChange",
    "QueueItem",
    "TaskKey",
    "UpsertResult",
    "acquire_lease",
    "add_checkin",
    "add_delivery",
    "audit",
    "checkins",
    "claim_deliveries",
    "claim_next",
    "complete",
    "delete_push_states",
    "enqueue",
    "fail",
    "finish_delivery",
    "finish_run",
    "get_cursor",
    "get_cursor_state",
    "get_task_ids",
    "last_runs",
    "latest_statuses",
    "load_task_initiatives",
    "load_tasks",
    "mark_deleted",
    "mark_unseen_deleted",
    "park_delivery",
    "pending_count",
    "push_states",
    "record_evaluation",
    "release_lease",
    "renew_lease",
    "replace_task_initiatives",
    "requeue_in_flight",
    "retry_delivery",
    "save_push_state",
    "set_cursor",
    "start_run",
    "sync_definitions",
    "upsert_tasks",
    "value_history",
]
