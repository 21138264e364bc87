"""The dashboard's pages show what the store holds: values, statuses as words, task links,
charts with one point per recorded value, connector runs, inbox and queue."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from okrbridge.domain import KRStatus
from okrbridge.report.history import value_points
from okrbridge.sync.comment import CommentContext, format_value, render_comment, status_title
from tests.dashboard.conftest import DASHBOARD_URL
from tests.dashboard.html import Page, pairs
from tests.dashboard.seed import HOSTILE, JIRA, TASKS_EARLY, TASKS_LATE, TRELLO, Seeded


def test_overview_shows_every_key_result_with_the_stores_numbers(
    client: TestClient, seeded: Seeded
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = Page(response.text)
    evaluation = seeded.computed.evaluation  # the last one a sync recorded, not one made now
    articles = {e.attrs["id"]: e for e in page.find("article", "kr")}
    assert set(articles) == {f"kr-{kr_id}" for kr_id in evaluation.key_results}
    for kr in evaluation.key_results.values():
        text = articles[f"kr-{kr.id}"].text
        assert f"{format_value(kr.value, kr)} / {format_value(kr.target, kr)}" in text
        assert f"{kr.progress:.0%}" in text
        assert status_title(kr.status) in text
        assert " ".join(kr.reason.split()) in text
        assert kr.forecast is not None
        assert format_value(kr.forecast.projected_value, kr) in text
    # The same numbers worked out by hand from the seed: 1 of 5 review tasks done -> 65%.
    assert "65% / 85%" in articles["kr-kr-reviews"].text
    assert "1,500 players / 5,000 players" in articles["kr-kr-dau"].text
    assert "2 / 10" in articles["kr-kr-bugs"].text
    badges = {b.text: b.classes for b in page.find("span", "badge")}
    assert "status-off-track" in badges["Off track"]
    assert "status-needs-attention" in badges["Needs attention"]
    counts = page.find("span", "counts")
    assert [c.text for c in counts] == ["1 done, 1 in progress, 3 to do"]


def test_tasks_link_to_the_tool_with_their_status_and_label(
    client: TestClient, seeded: Seeded
) -> None:
    response = client.get("/")
    page = Page(response.text)
    links = page.links()
    reviews = [t for t in (*TASKS_EARLY, *TASKS_LATE) if "reviews" in t.labels]
    for task in reviews:
        assert links[task.url] == task.key
    rows = {row.text.split()[0]: row.text for row in page.find("tr", "task")}
    assert "okr:needs-attention" in rows["MKT-3"]  # the label the bridge last wrote
    assert "overdue" in rows["MKT-3"]  # due 2026-11-05, still to do
    assert "overdue" not in rows["TR-6"]  # due 2026-11-20
    assert "Done (done)" in rows["MKT-1"]
    assert "<script>" not in response.text
    assert HOSTILE in page.text  # shown as text, escaped in the markup
    assert "&lt;script&gt;" in response.text


def test_key_result_page_draws_recorded_values_against_the_plan(
    client: TestClient, seeded: Seeded
) -> None:
    response = client.get("/kr/kr-dau")
    assert response.status_code == 200
    page = Page(response.text)
    svg = page.one("svg", "chart")
    assert svg.attrs["role"] == "img"
    assert "Daily active users" in page.one("title", id="chart-title").text
    with seeded.store.session() as session:
        recorded = value_points(session, "kr-dau")
    circles = page.find("circle", "point")
    assert len(circles) == len(recorded) == 3
    ys = [float(c.attrs["cy"]) for c in circles]
    assert ys == sorted(ys, reverse=True)  # 1,200 -> 1,400 -> 1,500: each point higher
    plan = pairs(page.one("polyline", "plan").attrs["points"])
    assert len(plan) == 4  # start, the two checkpoints, target at the end
    assert plan[0][1] > plan[-1][1]  # rising from 1,000 to 5,000
    forecast = pairs(page.one("polyline", "forecast").attrs["points"])
    assert len(forecast) == 2
    assert forecast[0][1] == ys[-1]  # starts at the current value (the last check-in)
    assert "3 recorded values" in page.one("desc", id="chart-desc").text
    changes = [row.text for row in page.find("tr") if "first evaluation" in row.text]
    assert len(changes) == 1
    assert "On track" in changes[0]
    latest = [row.text for row in page.find("tr") if "Needs attention" in row.text]
    assert latest == [
        "2026-11-13 12:00 On track Needs attention 1,500 players "
        + " ".join(seeded.computed.evaluation.key_results["kr-dau"].reason.split())
    ]


def test_linear_plan_and_task_fed_key_result_pages(client: TestClient) -> None:
    page = Page(client.get("/kr/kr-reviews").text)
    assert len(pairs(page.one("polyline", "plan").attrs["points"])) == 2
    assert len(page.find("circle", "point")) == 3
    bugs = Page(client.get("/kr/kr-bugs").text)
    counted = {row.text.split()[0] for row in bugs.find("tr", "task")}
    assert counted == {"MKT-5", "MKT-7"}  # the done crash tasks it counts


def test_unknown_key_result_or_connector_is_404(client: TestClient) -> None:
    for path in ("/kr/nope", "/connectors/nope"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Not found" in Page(response.text).one("h1").text


def test_connector_page_shows_runs_errors_waits_inbox_and_queue(client: TestClient) -> None:
    page = Page(client.get(f"/connectors/{JIRA}").text)
    runs = page.find("tr", "run")
    assert len(runs) == 3
    assert "Jira answered 503 three times" in runs[1].text
    assert "failed" in runs[1].text
    assert "Rate-limit waits over these runs: 9 (13.5 s); retries: 6." in page.text
    inbox = [c.text for c in page.find("td") if "data-status" in c.attrs][:3]
    queue = [c.text for c in page.find("td") if "data-status" in c.attrs][3:]
    assert inbox == ["2", "0", "1"]  # pending, done, parked
    assert queue == ["1", "0", "0", "1"]  # pending, in flight, done, failed
    assert "payload is not a Jira issue event" in page.text
    assert "403 Forbidden: no permission to edit labels" in page.text
    assert "Never synced." in Page(client.get(f"/connectors/{TRELLO}").text).text


def test_comment_links_resolve_to_key_result_pages(client: TestClient, seeded: Seeded) -> None:
    evaluation = seeded.computed.evaluation
    body = render_comment(
        CommentContext(
            status=KRStatus.OFF_TRACK,
            initiatives=list(evaluation.initiatives.values()),
            key_results=list(evaluation.key_results.values()),
            objective_titles={o.id: o.title for o in evaluation.objectives},
            dashboard_url=seeded.config.push.dashboard_url,
        )
    )
    links = re.findall(r"\]\((https?://[^)]+)\)", body)
    assert len(links) == len(evaluation.key_results)
    for link in links:
        assert link.startswith(DASHBOARD_URL)
        response = client.get(link.removeprefix(DASHBOARD_URL))
        assert response.status_code == 200
        kr_id = link.rsplit("/", 1)[1]
        assert evaluation.key_results[kr_id].title in Page(response.text).one("h1").text


def test_pages_forbid_scripts_and_framing(client: TestClient) -> None:
    response = client.get("/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["referrer-policy"] == "no-referrer"
