"""End-to-end against the simulator served on loopback by the sandbox harness."""

from __future__ import annotations

import json

import httpx
import pytest

from connectors.jira import JiraConnector
from connectors.jira.simulator import BOT, JiraSimulator, RateLimit
from okrbridge.connector.base import (
    CommentAction,
    CommentChange,
    EventKind,
    PushChange,
    WebhookRequest,
)
from okrbridge.connector.errors import AuthError, RequestFailed
from okrbridge.connector.transport import RetryPolicy
from okrbridge.domain import StatusCategory
from okrbridge.sandbox.faults import FaultPlan
from okrbridge.sandbox.harness import SandboxServer
from okrbridge.sandbox.tool import SeedTask

from .conftest import make_connector

BODY = "**OKR status: On track** — Grow\n- KR one: 71% of 85%\n  3 of 8 tasks done"


def seed(sim: JiraSimulator, n: int, project: str = "MKT") -> list[str]:
    return [
        sim.add_task(
            SeedTask(title=f"task {i}", container=project, estimate=2.0, labels=("growth",))
        )
        for i in range(n)
    ]


def pull_all(conn: JiraConnector, cursor: str | None = None, *, full: bool = False):
    pages = list(conn.pull(cursor, full=full))
    tasks = [t for p in pages for t in p.tasks]
    return tasks, pages[-1].cursor


def test_full_pull_pages_ids_then_bulkfetches(sim: JiraSimulator, server: SandboxServer) -> None:
    ids = seed(sim, 230) + seed(sim, 5, "OPS")
    conn = make_connector(sim, server, page_size=100, jql="project = MKT")
    tasks, cursor = pull_all(conn)
    assert sorted(t.external_id for t in tasks) == sorted(ids[:230])
    assert all(t.estimate == 2.0 and t.container == "MKT" for t in tasks)
    assert server.log.count("POST", "/rest/api/3/search/jql") == 3
    assert server.log.count("POST", "/rest/api/3/issue/bulkfetch") == 3
    assert server.log.count("GET", "/rest/api/3/field") == 1  # estimate given by name
    assert cursor is not None
    assert server.log.count(writes_only=True) == 6


def test_incremental_pull_sees_changes_and_skips_repeats(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    ids = seed(sim, 30)
    _, cursor = pull_all(connector)
    again, cursor = pull_all(connector, cursor)
    assert again == []  # re-read inside the overlap window but de-duplicated by id + updated
    sim.set_status(ids[3], StatusCategory.DONE)
    changed, _ = pull_all(connector, cursor)
    assert [(t.external_id, t.status_category) for t in changed] == [(ids[3], StatusCategory.DONE)]


def test_full_pass_yields_every_live_issue(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    ids = seed(sim, 12)
    _, cursor = pull_all(connector)
    sim.delete_task(ids[0])
    tasks, _ = pull_all(connector, cursor, full=True)
    assert sorted(t.external_id for t in tasks) == sorted(ids[1:])


def test_apply_writes_one_label_edit_and_one_marked_comment(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    [issue_id] = seed(sim, 1)
    sim.set_labels(issue_id, ("growth", "okr:needs-attention"))
    sim.add_comment(issue_id, "a person's note")
    [task] = connector.fetch([issue_id])
    server.log.clear()
    change = PushChange(
        task=task,
        add_label="okr:on-track",
        remove_labels=("okr:needs-attention",),
        comment=CommentChange(CommentAction.CREATE, BODY),
    )
    result = connector.apply(change)
    assert result.requests == 2
    assert server.log.count(writes_only=True) == 2
    assert sim.labels_of(issue_id) == ["growth", "okr:on-track"]
    comments = sim.comments_of(issue_id)
    assert [c.author for c in comments] == ["Pat Person", "okrbridge bot"]
    assert comments[1].id == result.comment_id
    assert "OKR status: On track" in comments[1].body
    assert sim.issue(issue_id).comments[1].properties == {"okrbridge": {"v": 2}}
    assert all("fields" not in edit for edit in sim.issue_edits)
    assert set(sim.notify_flags) == {"false"}

    # Re-apply with the task as it now is: the label is there, the comment is edited in place.
    [task] = connector.fetch([issue_id])
    again = connector.apply(
        PushChange(
            task=task,
            add_label="okr:on-track",
            comment=CommentChange(
                CommentAction.UPDATE, BODY + "\nForecast: 90%", result.comment_id
            ),
        )
    )
    assert again.requests == 1
    assert again.comment_id == result.comment_id
    assert len(sim.comments_of(issue_id)) == 2
    assert "Forecast: 90%" in sim.comments_of(issue_id)[1].body


def test_uncertain_create_and_lost_id_find_the_marked_comment(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    [issue_id] = seed(sim, 1)
    [task] = connector.fetch([issue_id])
    first = connector.apply(
        PushChange(task=task, comment=CommentChange(CommentAction.CREATE, BODY))
    )
    retry = connector.apply(
        PushChange(task=task, comment=CommentChange(CommentAction.CREATE, BODY), uncertain=True)
    )
    lost = connector.apply(PushChange(task=task, comment=CommentChange(CommentAction.UPDATE, BODY)))
    assert first.comment_id == retry.comment_id == lost.comment_id
    assert len(sim.comments_of(issue_id)) == 1


def test_update_of_a_comment_a_person_deleted_recreates_exactly_one(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    [issue_id] = seed(sim, 1)
    [task] = connector.fetch([issue_id])
    first = connector.apply(
        PushChange(task=task, comment=CommentChange(CommentAction.CREATE, BODY))
    )
    assert first.comment_id is not None
    sim.delete_comment(issue_id, first.comment_id)
    again = connector.apply(
        PushChange(task=task, comment=CommentChange(CommentAction.UPDATE, BODY, first.comment_id))
    )
    assert again.comment_id != first.comment_id
    assert len(sim.comments_of(issue_id)) == 1


def test_delete_verifies_the_marker(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    [issue_id] = seed(sim, 1)
    person = sim.add_comment(issue_id, "keep me")
    [task] = connector.fetch([issue_id])
    refused = connector.apply(
        PushChange(task=task, comment=CommentChange(CommentAction.DELETE, comment_id=person))
    )
    assert refused.requests == 0
    assert len(sim.comments_of(issue_id)) == 1
    mine = connector.apply(PushChange(task=task, comment=CommentChange(CommentAction.CREATE, BODY)))
    deleted = connector.apply(
        PushChange(
            task=task, comment=CommentChange(CommentAction.DELETE, comment_id=mine.comment_id)
        )
    )
    assert deleted.requests == 1
    assert [c.id for c in sim.comments_of(issue_id)] == [person]
    swept = connector.apply(PushChange(task=task, comment=CommentChange(CommentAction.DELETE)))
    assert swept.requests == 0


def test_labels_already_right_cost_nothing_and_spaces_are_refused(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    [issue_id] = seed(sim, 1)
    sim.set_labels(issue_id, ("okr:on-track", "Customer"))
    [task] = connector.fetch([issue_id])
    server.log.clear()
    result = connector.apply(
        PushChange(task=task, add_label="okr:on-track", remove_labels=("okr:off-track",))
    )
    assert result.requests == 0
    assert server.log.count() == 0
    with pytest.raises(RequestFailed, match="no spaces"):
        connector.apply(PushChange(task=task, add_label="okr:on track"))
    assert sim.labels_of(issue_id) == ["okr:on-track", "Customer"]


def test_rate_limit_429_with_headers_is_waited_out(sim: JiraSimulator) -> None:
    seed(sim, 3)
    sim.rate_limit = RateLimit(rate=2, burst=2)
    with SandboxServer(sim.app) as server:
        conn = make_connector(sim, server, estimate_field="customfield_10016")
        tasks, _ = pull_all(conn)
        extra = make_connector(sim, server, estimate_field="customfield_10016")
        tasks2, _ = pull_all(extra)
    assert len(tasks) == len(tasks2) == 3
    assert conn.stats.rate_limit_waits + extra.stats.rate_limit_waits >= 1


def test_injected_429_and_503_are_retried(sim: JiraSimulator, server: SandboxServer) -> None:
    seed(sim, 3)
    server.faults = FaultPlan(
        ["429", "503"], on_requests=[1, 2], path_prefixes=["/rest/api/3/search"]
    )
    settings = make_connector(sim, server, estimate_field="customfield_10016").settings
    fast = RetryPolicy(base_delay=0.05, max_delay=0.2)
    conn = JiraConnector("jira", settings, sim.env(), retry_policy=fast)
    conn_tasks, _ = pull_all(conn)
    assert len(conn_tasks) == 3
    assert conn.stats.retries >= 2


def test_bad_credentials_name_the_variables(sim: JiraSimulator, server: SandboxServer) -> None:
    seed(sim, 1)
    env = {**sim.env(), "JIRA_API_TOKEN": "wrong"}
    conn = JiraConnector("jira", make_connector(sim, server).settings, env)
    with pytest.raises(AuthError) as caught:
        list(conn.pull(None))
    assert "JIRA_API_TOKEN" in str(caught.value)
    assert "wrong" not in str(caught.value)
    missing = JiraConnector("jira", conn.settings, {"JIRA_EMAIL": "x"})
    with pytest.raises(AuthError, match="JIRA_API_TOKEN is not set"):
        list(missing.pull(None))


def test_simulator_refuses_old_search_and_unbounded_jql(
    sim: JiraSimulator, server: SandboxServer
) -> None:
    auth = (sim.EMAIL, sim.TOKEN)
    with httpx.Client(base_url=server.url, auth=auth) as http:
        old = http.get("/rest/api/2/search", params={"jql": "project = MKT"})
        assert old.status_code == 410
        assert "search/jql" in old.json()["errorMessages"][0]
        unbounded = http.post("/rest/api/3/search/jql", json={"jql": "ORDER BY updated"})
        assert unbounded.status_code == 400
        assert unbounded.json()["errors"] == {}
        assert http.get("/rest/api/3/myself", auth=("x", "y")).status_code == 401
        replaced = http.put("/rest/api/3/issue/NOPE-1", json={"fields": {"labels": []}})
        assert replaced.status_code == 404


def test_webhooks_from_the_simulator_parse_and_bridge_writes_echo(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    received: list[WebhookRequest] = []
    sim.set_webhook_sink(
        "https://bridge/hooks/jira",
        lambda url, headers, body: received.append(
            WebhookRequest("POST", url, dict(headers), body)
        ),
    )
    [issue_id] = seed(sim, 1)
    sim.set_status(issue_id, StatusCategory.IN_PROGRESS)
    [task] = connector.fetch([issue_id])
    connector.apply(
        PushChange(
            task=task, add_label="okr:on-track", comment=CommentChange(CommentAction.CREATE, BODY)
        )
    )
    assert all(connector.verify_webhook(r) for r in received)
    events = [e for r in received for e in connector.parse_webhook(r)]
    names = [json.loads(r.body)["webhookEvent"] for r in received]
    assert names[:2] == ["jira:issue_created", "jira:issue_updated"]
    person = [e for e in events if not e.own_echo]
    bridge = [e for e in events if e.own_echo]
    # The scope (`project is not EMPTY`) is not a project list: the worker re-reads.
    assert [e.kind for e in person] == [EventKind.REFRESH, EventKind.REFRESH]
    assert len(bridge) == 3  # label edit + comment_created + issue_updated(issue_commented)
    assert connector.bot_account() == BOT.account_id
    assert len({e.delivery_id for e in events}) == len(events)


def test_per_issue_write_limit_is_waited_out_and_two_writes_fit_in_it(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    [issue_id] = seed(sim, 1)
    sim.rate_limit = RateLimit(rate=1000, burst=1000, issue_writes=2, issue_window=1.0)
    [task] = connector.fetch([issue_id])
    server.log.clear()
    first = connector.apply(
        PushChange(
            task=task, add_label="okr:on-track", comment=CommentChange(CommentAction.CREATE, BODY)
        )
    )
    assert first.requests == 2
    assert all(r.status != 429 for r in server.log.snapshot())  # one change fits the limit
    [task] = connector.fetch([issue_id])
    again = connector.apply(
        PushChange(
            task=task,
            add_label="okr:off-track",
            remove_labels=("okr:on-track",),
            comment=CommentChange(CommentAction.UPDATE, BODY + "\nOff track", first.comment_id),
        )
    )
    assert again.requests == 2
    assert any(r.status == 429 for r in server.log.snapshot())  # the next came too soon...
    assert sim.labels_of(issue_id) == ["growth", "okr:off-track"]  # ...and was retried
    assert len(sim.comments_of(issue_id)) == 1
    assert "Off track" in sim.comments_of(issue_id)[0].body
