"""Pull: connector pages into the store, each page and its cursor in one transaction.

The cursor therefore never moves past tasks that were not committed, and a crash at any point
resumes from the last committed page. A complete full pass marks the tasks it did not see as
deleted (a partial one marks nothing). The bridge's marks the pages show (its comment, its
labels, its field value) reconcile the push state in the same transaction
(`okrbridge.sync.reconcile`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from okrbridge.connector.base import Connector
from okrbridge.store.db import Store
from okrbridge.store.repos._sql import STATISTICS_FROM, refresh_statistics
from okrbridge.store.repos.cursors import get_cursor_state, set_cursor
from okrbridge.store.repos.tasks import (
    CHANGES,
    TASKS,
    mark_deleted,
    mark_unseen_deleted,
    upsert_tasks,
)
from okrbridge.sync.reconcile import reconcile_marks

__all__ = ["PullResult", "needs_full_pass", "pull_into_store"]

PageCallback = Callable[[int], None]
"""Called after each committed page with the number of tasks in it."""


@dataclass
class PullResult:
    pages: int = 0
    pulled: int = 0
    changed: int = 0
    deleted: int = 0
    full: bool = False


def needs_full_pass(store: Store, instance: str, every: timedelta, now: datetime) -> bool:
    """A full pass is due on the first pull and when the last one is older than `every`."""
    with store.session() as session:
        state = get_cursor_state(session, instance)
    if state is None or state.cursor is None or state.last_full_pass_at is None:
        return True
    return now - state.last_full_pass_at >= every


def pull_into_store(
    store: Store,
    connector: Connector[Any],
    run_id: int,
    *,
    full: bool,
    on_page: PageCallback | None = None,
    now: datetime | None = None,
) -> PullResult:
    """Pull every page the connector yields since the stored cursor (all of them if `full`)."""
    instance = connector.instance
    with store.session() as session:
        state = get_cursor_state(session, instance)
    cursor = None if full or state is None else state.cursor
    result = PullResult(full=full)
    last_cursor = cursor
    grown, analyze_at = 0, STATISTICS_FROM  # new rows; the planner statistics follow at doublings
    for page in connector.pull(cursor, full=full):
        with store.session() as session:
            upserted = upsert_tasks(session, list(page.tasks), run_id)
            reconcile_marks(session, instance, page.tasks, connector.labels, now=now)
            gone = mark_deleted(session, instance, page.deleted) if page.deleted else 0
            if page.cursor is not None and page.cursor != last_cursor:
                set_cursor(session, instance, page.cursor)
                last_cursor = page.cursor
            grown += upserted.changed
            if grown >= analyze_at:
                refresh_statistics(session, [TASKS, CHANGES])
                analyze_at = 2 * grown
        result.pages += 1
        result.pulled += len(page.tasks)
        result.changed += upserted.changed
        result.deleted += gone
        if on_page is not None:
            on_page(len(page.tasks))
    if full:
        with store.session() as session:
            result.deleted += mark_unseen_deleted(session, instance, run_id)
            set_cursor(session, instance, last_cursor, full_pass=True)
    return result
