"""A seeded store for dashboard and report tests: tasks, check-ins, runs, inbox, queue and
three recorded evaluations, all written through the store's repositories and `compute`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from okrbridge.config.schema import Config, ConnectorSettings, PushSettings
from okrbridge.domain import (
    CheckIn,
    Checkpoint,
    Initiative,
    KeyResult,
    KeyResultLink,
    MatchRule,
    Objective,
    StatusCategory,
    Task,
)
from okrbridge.store.db import Store
from okrbridge.store.repos import (
    QueueItem,
    add_checkin,
    add_delivery,
    claim_deliveries,
    enqueue,
    fail,
    finish_run,
    get_task_ids,
    park_delivery,
    save_push_state,
    start_run,
    upsert_tasks,
)
from okrbridge.sync.compute import Computed, compute

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
EVALUATIONS = (NOW - timedelta(days=30), NOW - timedelta(days=10), NOW - timedelta(days=2))
"""When `compute(record=True)` ran; the last one is within a 7-day report window."""
JIRA = "jira-mkt"
TRELLO = "trello-launch"
HOSTILE = '<script>alert("x")</script> & co'
"""A task title that must come out escaped."""


def config(dashboard_url: str | None = None) -> Config:
    """One objective with three key results: from initiatives, from check-ins (with a plan),
    and from counted tasks."""
    return Config(
        connectors={
            JIRA: ConnectorSettings(type="jira", base_url="https://jira.example.test"),
            TRELLO: ConnectorSettings(type="trello", base_url="https://api.trello.example.test"),
        },
        push=PushSettings(dashboard_url=dashboard_url),
        objectives=[
            Objective(
                id="grow",
                title="Grow our new mobile game",
                owner="Marketing",
                start=date(2026, 10, 1),
                end=date(2026, 12, 31),
                key_results=[
                    KeyResult(
                        id="kr-reviews",
                        title="Over 85% of App Store reviews at 4+ stars",
                        metric="percent",
                        start=60,
                        target=85,
                        source="initiatives",
                    ),
                    KeyResult(
                        id="kr-dau",
                        title="Daily active users",
                        start=1000,
                        target=5000,
                        unit="players",
                        plan=[
                            Checkpoint(date=date(2026, 10, 31), value=1500),
                            Checkpoint(date=date(2026, 11, 30), value=3000),
                        ],
                    ),
                    KeyResult(
                        id="kr-bugs",
                        title="Crash bugs fixed",
                        start=0,
                        target=10,
                        source="tasks",
                        tasks=MatchRule(labels_any=["crash"], status_category="done"),
                    ),
                ],
            )
        ],
        initiatives=[
            Initiative(
                id="review-campaign",
                title="Campaign for App Store reviews",
                key_results=[KeyResultLink(id="kr-reviews")],
                match=[MatchRule(labels_any=["reviews"])],
            ),
        ],
    )


def task(
    connector: str,
    number: int,
    title: str,
    category: StatusCategory,
    labels: tuple[str, ...] = ("reviews",),
    *,
    due: date | None = None,
    updated: datetime = NOW - timedelta(days=1),
) -> Task:
    prefix = "MKT" if connector == JIRA else "TR"
    return Task(
        connector=connector,
        external_id=str(number),
        key=f"{prefix}-{number}",
        url=f"https://{connector}.example.test/browse/{prefix}-{number}",
        title=title,
        container=prefix,
        status_name={"todo": "To Do", "in_progress": "In Progress", "done": "Done"}[category.value],
        status_category=category,
        labels=labels,
        due=due,
        updated_at=updated,
    )


S = StatusCategory
TASKS_EARLY = [
    task(JIRA, 1, "Campaign plan", S.DONE, updated=EVALUATIONS[0]),
    task(JIRA, 2, "Creative brief", S.TODO, updated=EVALUATIONS[0]),
    task(JIRA, 3, HOSTILE, S.TODO, due=date(2026, 11, 5), updated=NOW - timedelta(days=40)),
    task(TRELLO, 4, "Review replies playbook", S.IN_PROGRESS, updated=EVALUATIONS[0]),
    task(JIRA, 5, "Crash on login", S.DONE, ("crash",), updated=EVALUATIONS[0]),
]
TASKS_LATE = [
    task(TRELLO, 6, "Launch day checklist", S.TODO, due=date(2026, 11, 20)),
    task(JIRA, 7, "Crash on resume", S.DONE, ("crash",)),
]


@dataclass(frozen=True)
class Seeded:
    config: Config
    store: Store
    computed: Computed
    """The last recorded evaluation (at `EVALUATIONS[-1]`)."""


def seed(store: Store, dashboard_url: str | None = None) -> Seeded:
    """Fill `store` as a few weeks of syncing would, and return the last evaluation."""
    cfg = config(dashboard_url)
    with store.session() as session:
        upsert_tasks(session, TASKS_EARLY, None, now=EVALUATIONS[0])
        add_checkin(session, CheckIn(key_result_id="kr-dau", value=1200, at=EVALUATIONS[0]))
    compute(store, cfg, now=EVALUATIONS[0], record=True)
    with store.session() as session:
        add_checkin(session, CheckIn(key_result_id="kr-dau", value=1400, at=EVALUATIONS[1]))
    compute(store, cfg, now=EVALUATIONS[1], record=True)
    with store.session() as session:
        upsert_tasks(session, TASKS_LATE, None, now=EVALUATIONS[2])
        add_checkin(
            session,
            CheckIn(key_result_id="kr-dau", value=1500, at=EVALUATIONS[2], note="slow week"),
        )
    last = compute(store, cfg, now=EVALUATIONS[2], record=True)
    _seed_operations(store)
    return Seeded(cfg, store, last)


def _seed_operations(store: Store) -> None:
    """Runs with rate-limit waits and an error, inbox deliveries, queued and failed writes."""
    with store.session() as session:
        for hours, error in ((5, None), (3, "Jira answered 503 three times"), (1, None)):
            at = NOW - timedelta(hours=hours)
            run = start_run(session, JIRA, "incremental", False, now=at)
            finish_run(
                session,
                run,
                "failed" if error else "ok",
                error=error,
                stats={"retries": 2, "rate_limit_waits": 3, "rate_limit_wait_seconds": 4.5},
                now=at + timedelta(seconds=12),
                pulled=7,
                changed=2,
                writes_made=4,
            )
        for n in range(3):
            add_delivery(session, JIRA, f"d{n}", {}, b"{}", now=NOW - timedelta(minutes=n))
    with store.session() as session:
        claimed = claim_deliveries(session, "w", 1, 30, connector=JIRA, now=NOW)
        park_delivery(session, claimed[0].id, "payload is not a Jira issue event", worker="w")
        refs = get_task_ids(session, [(JIRA, "2"), (JIRA, "3")])
        ids = {ref.external_id: task_id for ref, task_id in refs.items()}
        id2, id3 = ids["2"], ids["3"]
        save_push_state(
            session, id3, JIRA, label="okr:needs-attention", comment_id="c1", comment_hash="h"
        )
        enqueue(
            session,
            [QueueItem(JIRA, id2, {"add_label": "okr:on-track"}), QueueItem(JIRA, id3, {})],
            now=NOW,
        )
    with store.session() as session:
        from okrbridge.store.repos import claim_next

        first = claim_next(session, JIRA, 1, now=NOW)[0]
        fail(session, first.id, "403 Forbidden: no permission to edit labels", False, now=NOW)
