"""The incremental compute gives what a full recount gives, on random histories of task changes.

Each history is a list of steps; a step writes some tasks (new or changed: container,
labels, status, estimate, excluded) and deletes others, then runs a recording compute.
After every step the incremental results, stored links and tallies must equal those of a
full in-memory evaluation of the same stored tasks, and at the end a `--full` recount must
leave the tallies as the increments did.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from okrbridge.config.schema import Config, ConnectorSettings
from okrbridge.domain import (
    Initiative,
    KeyResult,
    KeyResultLink,
    MatchRule,
    Objective,
    StatusCategory,
    Task,
)
from okrbridge.engine import unmatched
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.store.models import TaskInitiativeRow, TaskKeyResultRow, TaskRow
from okrbridge.store.repos.tallies import load_tallies
from okrbridge.store.repos.tasks import iter_stored_tasks, load_tasks, mark_deleted, upsert_tasks
from okrbridge.sync import compute as compute_module
from okrbridge.sync.compute import Computed, acknowledge, compute, plan_pages, unmatched_rules

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
CONTAINERS = ("WEB", "APP", "OPS")
LABELS = ("bug", "ux", "okr:i-explicit", "okr:on-track", "team-a")
ESTIMATES = (None, 0.0, 0.5, 1.0, 2.5, 8.0)


def config() -> Config:
    """Initiatives in every progress mode, a task-counting KR, an explicit-label initiative."""
    initiatives = [
        Initiative(
            id="i-web",
            title="Web",
            key_results=[KeyResultLink(id="kr-init")],
            match=[MatchRule(container="WEB")],
        ),
        Initiative(
            id="i-ux",
            title="UX",
            progress="estimate",
            default_estimate=1.5,
            key_results=[KeyResultLink(id="kr-init", weight=2)],
            match=[MatchRule(labels_any=["ux"]), MatchRule(container="APP", labels_any=["bug"])],
        ),
        Initiative(
            id="i-weighted",
            title="Weighted",
            progress="weighted",
            key_results=[KeyResultLink(id="kr-other")],
            match=[MatchRule(labels_any=["team-a"])],
        ),
        Initiative(
            id="i-explicit",
            title="Explicit",
            progress="target",
            target=3,
            key_results=[KeyResultLink(id="kr-other")],
        ),
    ]
    key_results = [
        KeyResult(id="kr-init", title="Init", start=0, target=100, source="initiatives"),
        KeyResult(id="kr-other", title="Other", start=0, target=10, source="initiatives"),
        KeyResult(
            id="kr-bugs",
            title="Bugs",
            start=0,
            target=20,
            source="tasks",
            tasks=MatchRule(labels_any=["bug"]),
        ),
        KeyResult(
            id="kr-points",
            title="Points",
            start=0,
            target=40,
            source="tasks",
            aggregate="sum_estimate",
            tasks=MatchRule(container="OPS"),
        ),
    ]
    objective = Objective(
        id="o",
        title="O",
        start=date(2026, 10, 1),
        end=date(2026, 12, 31),
        key_results=key_results,
    )
    settings = ConnectorSettings(type="memory", base_url="http://127.0.0.1:1")
    return Config(connectors={"mem": settings}, objectives=[objective], initiatives=initiatives)


task_states = st.tuples(
    st.sampled_from(CONTAINERS),
    st.frozensets(st.sampled_from(LABELS), max_size=3),
    st.sampled_from(list(StatusCategory)),
    st.sampled_from(ESTIMATES),
    st.booleans(),  # excluded (closed as not planned)
)
writes = st.dictionaries(st.integers(0, 14), task_states, max_size=6)
deletions = st.frozensets(st.integers(0, 14), max_size=2)
histories = st.lists(st.tuples(writes, deletions), min_size=1, max_size=6)


def task(
    number: int, state: tuple[str, frozenset[str], StatusCategory, float | None, bool], at: datetime
) -> Task:
    container, labels, category, estimate, excluded = state
    return Task(
        connector="mem",
        external_id=f"t{number}",
        key=f"T-{number}",
        title=f"task {number}",
        container=container,
        labels=tuple(sorted(labels)),
        status_category=category,
        estimate=estimate,
        excluded=excluded,
        updated_at=at,
    )


@pytest.fixture(scope="module")
def template() -> Iterator[Path]:
    """A migrated SQLite file, copied for each example (migrating each time is slow)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "template.sqlite3"
        store = Store(f"sqlite:///{path}")
        upgrade(store)
        store.dispose()
        yield path


def stored_links(store: Store) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    found: dict[str, tuple[set[str], set[str]]] = {}
    with store.session() as session:
        for table, column, slot in (
            (TaskInitiativeRow, TaskInitiativeRow.initiative_id, 0),
            (TaskKeyResultRow, TaskKeyResultRow.key_result_id, 1),
        ):
            query = select(TaskRow.external_id, column).join(TaskRow, TaskRow.id == table.task_id)
            for external_id, target in session.execute(query):
                found.setdefault(external_id, (set(), set()))[slot].add(target)
    return {k: (frozenset(a), frozenset(b)) for k, (a, b) in found.items()}


def check_step(store: Store, cfg: Config, now: datetime) -> None:
    expected = compute(store, cfg, now=now, record=False).evaluation  # every task, in memory
    got = compute(store, cfg, now=now, record=True)
    acknowledge(store, got, "mem", now=now)
    assert got.evaluation.initiatives == expected.initiatives
    for kr_id, result in expected.key_results.items():
        assert got.evaluation.key_results[kr_id] == result, kr_id
    assert got.evaluation.objectives == expected.objectives
    counted = expected.key_result_tasks
    want = {
        external_id: (
            expected.task_initiatives.get(("mem", external_id), frozenset()),
            frozenset(kr for kr, keys in counted.items() if ("mem", external_id) in keys),
        )
        for _, external_id in {
            *expected.task_initiatives,
            *(k for v in counted.values() for k in v),
        }
    }
    assert stored_links(store) == want


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories)
def test_incremental_equals_full_recount(
    template: Path,
    history: list[
        tuple[
            dict[int, tuple[str, frozenset[str], StatusCategory, float | None, bool]],
            frozenset[int],
        ]
    ],
) -> None:
    cfg = config()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.sqlite3"
        shutil.copy(template, path)
        store = Store(f"sqlite:///{path}")
        try:
            now = NOW
            for step, (written, deleted) in enumerate(history):
                now = NOW + timedelta(hours=step)
                with store.session() as session:
                    upsert_tasks(session, [task(n, s, now) for n, s in written.items()], None)
                    mark_deleted(session, "mem", [f"t{n}" for n in deleted])
                check_step(store, cfg, now)
            with store.session() as session:
                incremental = load_tallies(session)
            recount = compute(store, cfg, now=now, record=True, full=True)
            assert recount.update is not None
            assert recount.update.tallies == incremental
        finally:
            store.dispose()


def planned(store: Store, cfg: Config, computed: Computed) -> list[Task]:
    """The tasks `computed` plans for the instance "mem", read page by page (pages of 3)."""
    with store.session() as session:
        pages = list(plan_pages(session, cfg, computed, "mem", size=3))
    assert all(0 < len(page.tasks) <= 3 for page in pages)
    return [task for page in pages for _, task in page.tasks]


def test_only_tasks_whose_plan_inputs_changed_are_loaded(store: Store) -> None:
    cfg = config()
    web = ("WEB", frozenset[str](), StatusCategory.TODO, None, False)
    ops = ("OPS", frozenset({"team-a"}), StatusCategory.TODO, 1.0, False)
    with store.session() as session:
        upsert_tasks(session, [task(n, web if n < 4 else ops, NOW) for n in range(8)], None)
    first = compute(store, cfg, now=NOW, record=True)
    assert not first.incremental
    assert len(planned(store, cfg, first)) == 8
    acknowledge(store, first, "mem", now=NOW)

    steady = compute(store, cfg, now=NOW, record=True)
    assert steady.incremental
    assert planned(store, cfg, steady) == []
    acknowledge(store, steady, "mem", now=NOW)

    with store.session() as session:  # an OPS task's title: no status moves
        upsert_tasks(session, [task(5, ops, NOW).model_copy(update={"title": "x"})], None)
    one = compute(store, cfg, now=NOW, record=True)
    assert [t.external_id for t in planned(store, cfg, one)] == ["t5"]
    with store.session() as session:
        (page,) = plan_pages(session, cfg, one, "mem")
    assert page.evaluation.initiatives_for(("mem", "t5")) == {"i-weighted"}

    # Not acknowledged (say the sync stopped before writing its plans): planned again.
    again = compute(store, cfg, now=NOW, record=True)
    assert [t.external_id for t in planned(store, cfg, again)] == ["t5"]
    acknowledge(store, again, "mem", now=NOW)

    done = (*ops[:2], StatusCategory.DONE, 1.0, False)
    with store.session() as session:  # three of the four team-a tasks done
        upsert_tasks(session, [task(n, done, NOW) for n in (4, 5, 6)], None)
    acknowledge(store, compute(store, cfg, now=NOW, record=True), "mem", now=NOW)
    with store.session() as session:  # the fourth: kr-other's status moves
        upsert_tasks(session, [task(7, done, NOW)], None)
    moved = compute(store, cfg, now=NOW, record=True)
    assert moved.status_changes == ["kr-other"]
    # t7 changed; t4-t6 serve i-weighted, which serves kr-other; WEB tasks stay unloaded.
    assert sorted(t.external_id for t in planned(store, cfg, moved)) == ["t4", "t5", "t6", "t7"]


def test_rules_matching_nothing_found_page_by_page_as_over_every_task(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config()
    web = ("WEB", frozenset[str](), StatusCategory.TODO, None, False)
    ux = ("APP", frozenset({"ux"}), StatusCategory.DONE, 2.0, False)
    gone = ("OPS", frozenset({"team-a"}), StatusCategory.TODO, None, False)
    with store.session() as session:
        upsert_tasks(session, [task(0, web, NOW), task(1, ux, NOW), task(2, gone, NOW)], None)
        mark_deleted(session, "mem", ["t2"])  # a deleted task matches nothing
        every = load_tasks(session)
    monkeypatch.setattr(compute_module, "iter_stored_tasks", partial(iter_stored_tasks, page=1))
    found, seen = unmatched_rules(store, cfg)
    expected = unmatched(cfg.initiatives, every).rules
    assert seen
    assert found == expected
    assert {(ref.owner_id, ref.index) for ref in found} >= {("i-weighted", 0)}  # team-a: deleted
