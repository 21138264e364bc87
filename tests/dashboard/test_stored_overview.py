"""The overview serves the evaluation the last sync recorded (not one made per request), lists
the first tasks of each initiative with a link to the rest, and pages through the rest."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from okrbridge.domain import CheckIn, StatusCategory, Task
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.store.repos import add_checkin, upsert_tasks
from okrbridge.sync.compute import compute
from okrbridge.web.dashboard import DashboardAuth, create_dashboard_app
from okrbridge.web.dashboard.data import LIST_PAGE_TASKS, OVERVIEW_TASKS
from okrbridge.web.dashboard.stored import NOT_EVALUATED
from tests.dashboard.html import Page
from tests.dashboard.seed import EVALUATIONS, HOSTILE, JIRA, NOW, TRELLO, Seeded, config, task

S = StatusCategory
MARKUP_TITLE = "Fix [/b] parsing of <b>bold</b> & {{ braces }}"


def client_for(seeded: Seeded, cache_seconds: float) -> TestClient:
    app = create_dashboard_app(
        seeded.config,
        seeded.store,
        auth=DashboardAuth(),
        clock=lambda: NOW,
        cache_seconds=cache_seconds,
    )
    return TestClient(app)


def kr_text(page: Page, kr_id: str) -> str:
    return page.one("article", id=f"kr-{kr_id}").text


def write(store: Store, tasks: list[Task], at: datetime) -> None:
    with store.session() as session:
        upsert_tasks(session, tasks, None, now=at)


def finish_two_review_tasks(seeded: Seeded) -> None:
    """Tasks and a check-in change in the store, as a webhook and a person would do."""
    write(
        seeded.store,
        [
            task(JIRA, 2, "Creative brief", S.DONE),
            task(TRELLO, 4, "Review replies playbook", S.DONE),
        ],
        NOW - timedelta(hours=1),
    )
    with seeded.store.session() as session:
        add_checkin(
            session, CheckIn(key_result_id="kr-dau", value=4000, at=NOW - timedelta(hours=1))
        )


@pytest.mark.parametrize("cache_seconds", [0.0, 3600.0])
def test_overview_shows_the_recorded_evaluation_until_the_next_sync(
    seeded: Seeded, cache_seconds: float
) -> None:
    with client_for(seeded, cache_seconds) as client:
        before = Page(client.get("/").text)
        assert "65% / 85%" in kr_text(before, "kr-reviews")  # 1 of 5 review tasks done
        finish_two_review_tasks(seeded)
        # No sync yet: with or without the cache, the page shows what was recorded.
        unchanged = Page(client.get("/").text)
        assert "65% / 85%" in kr_text(unchanged, "kr-reviews")
        assert "1,500 players / 5,000 players" in kr_text(unchanged, "kr-dau")
        assert "Figures of the evaluation the last sync recorded at 2026-11-13 12:00" in (
            unchanged.text
        )
        compute(seeded.store, seeded.config, now=NOW, record=True)  # the sync
        after = Page(client.get("/").text)
    assert "75% / 85%" in kr_text(after, "kr-reviews")  # 3 of 5 done: 60 + 0.6 * 25
    assert "4,000 players / 5,000 players" in kr_text(after, "kr-dau")
    assert [c.text for c in after.find("span", "counts")] == ["3 done, 0 in progress, 2 to do"]
    assert "recorded at 2026-11-15 12:00" in after.text


def test_a_sync_at_the_same_moment_still_renews_the_cached_page(seeded: Seeded) -> None:
    with client_for(seeded, 3600.0) as client:
        assert "65% / 85%" in kr_text(Page(client.get("/").text), "kr-reviews")
        finish_two_review_tasks(seeded)
        compute(seeded.store, seeded.config, now=EVALUATIONS[-1], record=True)
        assert "75% / 85%" in kr_text(Page(client.get("/").text), "kr-reviews")


def many_review_tasks(count: int) -> list[Task]:
    """Review tasks 100.. of every kind: done, to do, in progress, some overdue."""
    tasks = []
    for n in range(count):
        category = [S.DONE, S.TODO, S.IN_PROGRESS][n % 3]
        due = date(2026, 11, 1) + timedelta(days=n % 7) if n % 5 == 0 else None
        updated = NOW - timedelta(days=1 + (n * 7) % 30, minutes=n)
        tasks.append(task(JIRA, 100 + n, f"Review task {n}", category, due=due, updated=updated))
    tasks[7] = tasks[7].model_copy(update={"title": MARKUP_TITLE})
    return tasks


def expected_order(tasks: list[Task], today: date) -> list[str]:
    """Overdue open tasks first (earliest due first), then in progress, then to do, then
    done, each group the longest untouched first."""

    def key(t: Task) -> tuple[int, date, datetime]:
        late = t.due is not None and t.due < today and t.status_category is not S.DONE
        group = 0 if late else {S.IN_PROGRESS: 1, S.TODO: 2, S.DONE: 3}[t.status_category]
        assert t.updated_at is not None
        return group, (t.due if late and t.due else date.min), t.updated_at

    return [t.key for t in sorted(tasks, key=key)]


@pytest.fixture
def crowded(seeded: Seeded) -> tuple[Seeded, list[Task]]:
    """The seeded store plus 70 more review tasks, synced: 75 mapped to the initiative."""
    extra = many_review_tasks(70)
    write(seeded.store, extra, NOW - timedelta(hours=2))
    compute(seeded.store, seeded.config, now=NOW - timedelta(hours=1), record=True)
    with seeded.store.session() as session:
        from okrbridge.store.repos.tasks import load_tasks

        reviews = [t for t in load_tasks(session) if "reviews" in t.labels]
    assert len(reviews) == 75
    return seeded, reviews


def test_overview_lists_the_first_tasks_and_links_to_the_rest(
    crowded: tuple[Seeded, list[Task]],
) -> None:
    seeded, reviews = crowded
    with client_for(seeded, 60.0) as client:
        response = client.get("/")
    page = Page(response.text)
    section = page.one(
        "section", "initiative", aria_label="Initiative Campaign for App Store reviews"
    )
    rows = [row for row in page.find("tr", "task") if row.text.split()[0].startswith(("MKT", "TR"))]
    listed = [row.text.split()[0] for row in rows if row.text in section.text]
    assert listed == expected_order(reviews, NOW.date())[:OVERVIEW_TASKS]
    more = [a for a in page.find("a", "more") if a.attrs["href"] == "/initiatives/review-campaign"]
    assert [a.text for a in more] == [f"{75 - OVERVIEW_TASKS} more"]
    assert f"75 tasks, the first {OVERVIEW_TASKS} shown" in section.text
    assert "<b>bold</b>" not in response.text  # a title is text, never markup


def test_initiative_pages_list_every_task_in_order_once(
    crowded: tuple[Seeded, list[Task]],
) -> None:
    seeded, reviews = crowded
    listed: list[str] = []
    with client_for(seeded, 60.0) as client:
        first = client.get("/initiatives/review-campaign")
        second = client.get("/initiatives/review-campaign?page=2")
        beyond = client.get("/initiatives/review-campaign?page=3")
        missing = client.get("/initiatives/nope")
        zero = client.get("/initiatives/review-campaign?page=0")
    for response in (first, second):
        assert response.status_code == 200
        listed += [row.text.split()[0] for row in Page(response.text).find("tr", "task")]
    assert listed == expected_order(reviews, NOW.date())
    assert len(Page(first.text).find("tr", "task")) == LIST_PAGE_TASKS
    page_one = Page(first.text)
    assert f"Tasks 1 to {LIST_PAGE_TASKS} of 75" in page_one.text
    assert page_one.one("a", rel="next").attrs["href"] == "/initiatives/review-campaign?page=2"
    assert (
        Page(second.text).one("a", rel="prev").attrs["href"]
        == "/initiatives/review-campaign?page=1"
    )
    assert Page(second.text).find("a", rel="next") == []
    every_title = Page(first.text).text + Page(second.text).text
    assert MARKUP_TITLE in every_title
    assert HOSTILE in every_title
    assert "<b>bold</b>" not in first.text + second.text
    assert "<script>" not in first.text + second.text
    assert beyond.status_code == 200
    assert "No tasks on this page: the initiative has 75 tasks." in Page(beyond.text).text
    assert missing.status_code == 404
    assert zero.status_code == 422


def test_a_counting_key_result_pages_its_counted_tasks(seeded: Seeded) -> None:
    with client_for(seeded, 60.0) as client:
        counted = Page(client.get("/kr/kr-bugs/tasks").text)
        not_counting = client.get("/kr/kr-dau/tasks")
    rows = [row.text.split()[0] for row in counted.find("tr", "task")]
    assert rows == ["MKT-5", "MKT-7"]  # both done; MKT-5 untouched for longer
    assert not_counting.status_code == 404


@pytest.fixture
def unsynced(tmp_path: Path) -> Seeded:
    """Tasks in the store (as a `sync --dry-run` leaves them) but no recorded evaluation."""
    store = Store(f"sqlite:///{tmp_path / 'unsynced.sqlite3'}")
    upgrade(store)
    cfg = config()
    write(store, [task(JIRA, 1, "Campaign plan", S.DONE), task(JIRA, 2, "Brief", S.TODO)], NOW)
    last = compute(store, cfg, now=NOW, record=False)
    return Seeded(cfg, store, last)


def test_a_store_never_synced_says_so_and_fills_in_after_the_first_sync(
    unsynced: Seeded,
) -> None:
    with client_for(unsynced, 3600.0) as client:
        page = Page(client.get("/").text)
        kr_page = client.get("/kr/kr-reviews")
        compute(unsynced.store, unsynced.config, now=NOW, record=True)
        synced = Page(client.get("/").text)
    assert "No sync has recorded an evaluation yet" in page.text
    assert "Grow our new mobile game" in page.text
    for kr_id in ("kr-reviews", "kr-dau", "kr-bugs"):
        assert NOT_EVALUATED in kr_text(page, kr_id)
    assert page.find("tr", "task") == []
    assert kr_page.status_code == 200
    assert "No sync has recorded" not in synced.text
    assert "1 of 2 tasks done" in kr_text(synced, "kr-reviews")
    assert {row.text.split()[0] for row in synced.find("tr", "task")} == {"MKT-1", "MKT-2"}
    unsynced.store.dispose()
