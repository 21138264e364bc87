"""The webhook inbox (idempotent, claimable by several workers) and job leases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from store_builders import T0, make_task

from okrbridge.store.db import Store
from okrbridge.store.models import InboxRow
from okrbridge.store.repos import (
    acquire_lease,
    add_delivery,
    claim_deliveries,
    claim_next,
    enqueue,
    finish_delivery,
    get_task_ids,
    park_delivery,
    release_lease,
    renew_lease,
    retry_delivery,
    upsert_tasks,
)
from okrbridge.store.repos.writes import QueueItem


def test_a_redelivery_is_stored_once(store: Store) -> None:
    with store.session() as session:
        assert add_delivery(session, "github", "d-1", {"x-github-event": "issues"}, b"{}", now=T0)
    with store.session() as session:
        assert not add_delivery(session, "github", "d-1", {}, b"other", now=T0)
        assert add_delivery(session, "jira", "d-1", {}, b"{}", now=T0)
        rows = session.execute(select(InboxRow.connector, InboxRow.body)).all()
    assert sorted(rows) == [("github", b"{}"), ("jira", b"{}")]


def test_deliveries_are_claimed_once_until_the_lock_expires(store: Store) -> None:
    with store.session() as session:
        for n in range(3):
            add_delivery(session, "github", f"d-{n}", {"n": str(n)}, b"body%d" % n, now=T0)
    with store.session() as session:
        mine = claim_deliveries(session, "w1", 2, 60, now=T0)
        theirs = claim_deliveries(session, "w2", 5, 60, now=T0)
    assert [d.delivery_id for d in mine] == ["d-0", "d-1"]
    assert [(d.delivery_id, d.body, d.headers) for d in theirs] == [("d-2", b"body2", {"n": "2"})]
    with store.session() as session:
        assert finish_delivery(session, mine[0].id, worker="w1")
        assert not finish_delivery(session, theirs[0].id, worker="w1")  # not w1's lock
        assert retry_delivery(session, mine[1].id, "tool down", 30, worker="w1", now=T0)
        assert claim_deliveries(session, "w3", 5, 60, now=T0 + timedelta(seconds=10)) == []
        # w2 died: its lock expires; the retried one is due again too
        later = claim_deliveries(session, "w3", 5, 60, now=T0 + timedelta(seconds=61))
    assert sorted((d.delivery_id, d.attempts) for d in later) == [("d-1", 2), ("d-2", 2)]
    with store.session() as session:
        assert park_delivery(session, later[0].id, "unparseable")
        statuses = dict(session.execute(select(InboxRow.delivery_id, InboxRow.status)).all())
    assert statuses["d-0"] == "done"
    assert sorted(statuses.values()) == ["done", "parked", "pending"]


def test_leases_are_exclusive_until_they_expire(store: Store) -> None:
    with store.session() as session:
        assert acquire_lease(session, "pull:jira", "a", 60, now=T0)
    with store.session() as session:
        assert not acquire_lease(session, "pull:jira", "b", 60, now=T0 + timedelta(seconds=30))
        assert acquire_lease(session, "pull:jira", "a", 60, now=T0 + timedelta(seconds=30))
        assert acquire_lease(session, "push:jira", "b", 60, now=T0)
        assert not release_lease(session, "pull:jira", "b")
        assert renew_lease(
            session, "pull:jira", "a", timedelta(seconds=60), now=T0 + timedelta(seconds=50)
        )
    expired = T0 + timedelta(seconds=111)
    with store.session() as session:
        assert not acquire_lease(session, "pull:jira", "b", 60, now=expired - timedelta(seconds=2))
        assert acquire_lease(session, "pull:jira", "b", 60, now=expired)
        assert not renew_lease(session, "pull:jira", "a", 60, now=expired)
        assert release_lease(session, "pull:jira", "b")
        assert acquire_lease(session, "pull:jira", "a", 60, now=expired)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_concurrent_claimers_skip_each_others_rows(store: Store) -> None:
    tasks = [make_task(n) for n in range(4)]
    with store.session() as session:
        upsert_tasks(session, tasks, None)
        ids = list(get_task_ids(session, [t.ref for t in tasks]).values())
        enqueue(session, [QueueItem("jira", task_id, {}) for task_id in ids])
        for n in range(4):
            add_delivery(session, "jira", f"d-{n}", {}, b"", now=T0)
    with store.session() as first, store.session() as second:
        # `first` holds its row locks until it commits; `second` must not wait for them.
        a = claim_next(first, "jira", 2)
        b = claim_next(second, "jira", 10)
        c = claim_deliveries(first, "w1", 3, 60, now=T0)
        d = claim_deliveries(second, "w2", 3, 60, now=T0)
    assert len(a) == 2
    assert len(b) == 2
    assert not {i.id for i in a} & {i.id for i in b}
    assert (len(c), len(d)) == (3, 1)
