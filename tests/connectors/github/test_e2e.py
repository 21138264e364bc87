"""End to end against the simulator served on loopback: pulls, pushes, echoes, limits."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from connectors.github.marks import marker
from okrbridge.connector.base import (
    CommentAction,
    CommentChange,
    EventKind,
    PushChange,
    WebhookRequest,
)
from okrbridge.connector.errors import ConnectorError, RequestFailed
from okrbridge.domain import StatusCategory, Task
from okrbridge.sandbox.tool import SeedTask
from tests.connectors.github.conftest import load_fixture


def _seed(sim: Any, count: int, **kwargs: Any) -> list[str]:
    return [
        sim.add_task(SeedTask(title=f"task {i}", container="acme/app", **kwargs))
        for i in range(count)
    ]


def _pull(connector: Any, cursor: str | None = None, full: bool = False) -> tuple[list[Task], Any]:
    pages = list(connector.pull(cursor, full=full))
    assert all(p.cursor is None for p in pages[:-1])
    assert pages[-1].cursor is not None
    return [t for p in pages for t in p.tasks], pages[-1]


def test_full_pull_reads_every_page_and_costs_like_github(sim: Any, make_connector: Any) -> None:
    ids = _seed(sim, 5, status=StatusCategory.IN_PROGRESS, estimate=2)
    draft = sim.add_task(SeedTask(title="an idea", container="", fields={"draft": "true"}))
    connector = make_connector(page_size=2)
    tasks, _ = _pull(connector)
    assert [t.external_id for t in tasks] == [*ids, draft]
    first = tasks[0]
    assert (first.key, first.container, first.status_category) == (
        "acme/app#1",
        "acme/app",
        StatusCategory.IN_PROGRESS,
    )
    assert first.estimate == 2.0
    assert first.url == "https://github.com/acme/app/issues/1"
    assert tasks[-1].key.startswith("acme/projects/1#draft-")
    assert tasks[-1].fields["item_type"] == "DRAFT_ISSUE"
    # 3 pages of the full query; each needs (1 + 6 x 2) requests / 100 -> the minimum, 1 point
    assert connector.stats.requests == 3
    assert connector.stats.cost_points == 3


def test_steady_state_reads_nothing_and_changes_are_read_in_detail(
    sim: Any, make_connector: Any
) -> None:
    ids = _seed(sim, 4)
    connector = make_connector()
    _, last = _pull(connector)
    cost = connector.stats.cost_points
    tasks, last = _pull(connector, last.cursor)
    assert tasks == []
    assert connector.stats.cost_points - cost == 1
    sim.set_status(ids[2], StatusCategory.DONE)
    sim.set_title(ids[0], "renamed")
    tasks, last = _pull(connector, last.cursor)
    assert {t.external_id: (t.title, t.status_category) for t in tasks} == {
        ids[0]: ("renamed", StatusCategory.TODO),
        ids[2]: ("task 2", StatusCategory.DONE),
    }
    sim.delete_task(ids[1])
    tasks, last = _pull(connector, last.cursor)
    assert tasks == []
    assert list(last.deleted) == [ids[1]]
    tasks, _ = _pull(connector, last.cursor, full=True)
    assert {t.external_id for t in tasks} == {ids[0], ids[2], ids[3]}


def test_closed_states_map_to_done_and_excluded(sim: Any, make_connector: Any) -> None:
    done, dropped = _seed(sim, 2, status=StatusCategory.IN_PROGRESS)
    sim.close_issue(done, "COMPLETED")
    sim.close_issue(dropped, "NOT_PLANNED")
    tasks = {t.external_id: t for t in _pull(make_connector())[0]}
    assert tasks[done].status_category is StatusCategory.DONE
    assert not tasks[done].excluded
    assert tasks[dropped].excluded


def test_fetch_rereads_by_external_id(sim: Any, make_connector: Any) -> None:
    ids = _seed(sim, 3)
    connector = make_connector()
    sim.set_status(ids[1], StatusCategory.DONE)
    [task] = connector.fetch([ids[1], "I_gone"])
    assert task.external_id == ids[1]
    assert task.status_category is StatusCategory.DONE


def _change(task: Task, label: str, body: str, **kwargs: Any) -> PushChange:
    action = kwargs.pop("action", CommentAction.CREATE)
    comment_id = kwargs.pop("comment_id", None)
    return PushChange(
        task=task,
        add_label=label,
        comment=CommentChange(action, body=body, comment_id=comment_id),
        **kwargs,
    )


def test_apply_writes_one_label_and_one_comment_and_never_duplicates(
    sim: Any, server: Any, make_connector: Any
) -> None:
    [issue] = _seed(sim, 1, labels=("bug",))
    sim.add_comment(issue, "a person's comment")
    connector = make_connector(bot_login="okr-bot")
    [task] = _pull(connector)[0]
    result = connector.apply(_change(task, "okr:on-track", "**OKR status: On track**"))
    # label created once in the repo + one label mutation + one comment
    assert result.requests == 3
    assert sim.labels_of(issue) == ["bug", "okr:on-track"]
    comments = sim.comments_of(issue)
    assert [c.author for c in comments] == ["octocat", "okr-bot"]
    assert comments[1].body.startswith(marker(issue))
    assert "On track" in comments[1].body

    [task] = connector.fetch([issue])
    again = connector.apply(PushChange(task=task, add_label="okr:on-track"))
    assert again.requests == 0  # label already there

    # status changes: one swap request, one comment edit = 2 writes
    moved = connector.apply(
        PushChange(
            task=task,
            add_label="okr:off-track",
            remove_labels=("okr:on-track",),
            comment=CommentChange(CommentAction.UPDATE, "**Off track**", result.comment_id),
        )
    )
    assert sim.labels_of(issue) == ["bug", "okr:off-track"]
    assert moved.requests == 3  # includes creating the new repo label once
    assert len(sim.comments_of(issue)) == 2
    assert "Off track" in sim.comments_of(issue)[1].body
    [task] = connector.fetch([issue])
    back = connector.apply(
        PushChange(
            task=task,
            add_label="okr:on-track",
            remove_labels=("okr:off-track",),
            comment=CommentChange(CommentAction.UPDATE, "on", result.comment_id),
        )
    )
    assert back.requests == 2


def test_uncertain_create_and_lost_comment_id_reuse_the_marked_comment(
    sim: Any, make_connector: Any
) -> None:
    [issue] = _seed(sim, 1)
    connector = make_connector()
    [task] = _pull(connector)[0]
    first = connector.apply(
        PushChange(task=task, comment=CommentChange(CommentAction.CREATE, "v1"))
    )
    retry = connector.apply(
        PushChange(task=task, comment=CommentChange(CommentAction.CREATE, "v1"), uncertain=True)
    )
    assert retry.comment_id == first.comment_id
    assert retry.requests == 0
    lost = connector.apply(PushChange(task=task, comment=CommentChange(CommentAction.UPDATE, "v2")))
    assert lost.comment_id == first.comment_id
    assert lost.requests == 1
    assert [c.body.splitlines()[1] for c in sim.comments_of(issue)] == ["v2"]


def test_comment_deleted_by_a_person_is_recreated_once(sim: Any, make_connector: Any) -> None:
    [issue] = _seed(sim, 1)
    connector = make_connector()
    [task] = _pull(connector)[0]
    first = connector.apply(
        PushChange(task=task, comment=CommentChange(CommentAction.CREATE, "v1"))
    )
    assert first.comment_id is not None
    sim.delete_comment(first.comment_id)
    again = connector.apply(
        PushChange(task=task, comment=CommentChange(CommentAction.UPDATE, "v2", first.comment_id))
    )
    assert again.comment_id != first.comment_id
    assert [c.author for c in sim.comments_of(issue)] == ["okr-bot"]


def test_delete_only_removes_a_marked_comment(sim: Any, make_connector: Any) -> None:
    [issue] = _seed(sim, 1)
    person = sim.add_comment(issue, "keep me")
    connector = make_connector()
    [task] = _pull(connector)[0]
    result = connector.apply(
        PushChange(task=task, comment=CommentChange(CommentAction.DELETE, comment_id=person))
    )
    assert result.requests == 0
    assert len(sim.comments_of(issue)) == 1
    ours = connector.apply(PushChange(task=task, comment=CommentChange(CommentAction.CREATE, "x")))
    gone = connector.apply(
        PushChange(
            task=task, comment=CommentChange(CommentAction.DELETE, comment_id=ours.comment_id)
        )
    )
    assert gone.requests == 1
    assert [c.body for c in sim.comments_of(issue)] == ["keep me"]


def test_foreign_labels_are_refused(sim: Any, make_connector: Any) -> None:
    [issue] = _seed(sim, 1, labels=("bug",))
    connector = make_connector()
    [task] = _pull(connector)[0]
    with pytest.raises(RequestFailed):
        connector.apply(PushChange(task=task, add_label="okr:on-track", remove_labels=("bug",)))
    assert sim.labels_of(issue) == ["bug"]


def test_draft_gets_the_project_field_option(sim: Any, make_connector: Any) -> None:
    draft = sim.add_task(SeedTask(title="idea", container="", fields={"draft": "true"}))
    connector = make_connector()
    [task] = _pull(connector)[0]
    result = connector.apply(PushChange(task=task, field_value="needs-attention"))
    assert result.requests == 1
    assert sim.field_of(draft, "OKR status") == "Needs attention"
    [task] = connector.fetch([draft])
    assert connector.apply(PushChange(task=task, field_value="needs-attention")).requests == 0
    assert connector.apply(PushChange(task=task, field_value="")).requests == 1
    assert sim.field_of(draft, "OKR status") is None


def test_bridge_writes_come_back_as_echoes(sim: Any, make_connector: Any) -> None:
    [issue] = _seed(sim, 1)
    connector = make_connector()
    [task] = _pull(connector)[0]
    received: list[WebhookRequest] = []
    sim.set_webhook_sink(
        "http://127.0.0.1/hook",
        lambda url, headers, body: received.append(
            WebhookRequest("POST", url, dict(headers), body)
        ),
    )
    connector.apply(_change(task, "okr:on-track", "status"))
    sim.set_labels(issue, ("okr:on-track", "bug"))  # a person adds a label
    assert len(received) == 3
    assert all(connector.verify_webhook(r) for r in received)
    events = [e for r in received for e in connector.parse_webhook(r)]
    assert [(e.name, e.own_echo) for e in events] == [
        ("issues.labeled", True),
        ("issue_comment.created", True),
        ("issues.labeled", False),
    ]
    assert all(e.kind is EventKind.REFRESH and e.external_id == issue for e in events)


def test_graphql_rate_limit_with_http_200_is_waited_out(
    sim: Any, make_connector: Any, vclock: Any
) -> None:
    import time

    _seed(sim, 2)
    sim.limits.graphql["remaining"] = 0
    sim.limits.reset_epoch = int(time.time()) + 30
    vclock.on_sleep.append(lambda _s: sim.limits.reset())
    connector = make_connector()
    tasks, _ = _pull(connector)
    assert len(tasks) == 2
    assert connector.stats.rate_limit_waits == 1
    assert 25 < vclock.slept[0] < 60


def test_secondary_limit_403_is_honoured(sim: Any, make_connector: Any, vclock: Any) -> None:
    ids = _seed(sim, 3)
    connector = make_connector()
    tasks = _pull(connector)[0]
    sim.limits.content_per_minute = 1
    sim.limits.secondary_retry_after = 7
    vclock.on_sleep.append(lambda s: s >= 5 and sim.limits.content.clear())
    for task in tasks:
        connector.apply(PushChange(task=task, comment=CommentChange(CommentAction.CREATE, "x")))
    assert all(len(sim.comments_of(i)) == 1 for i in ids)
    assert connector.stats.rate_limit_waits == 2  # the 2nd and 3rd comment waited once each
    assert sum(1 for s in vclock.slept if 7 <= s <= 7 * 1.3) == 2


def test_invalid_document_fails_like_github(make_connector: Any, monkeypatch: Any) -> None:
    import connectors.github.client as client_module

    connector = make_connector()
    monkeypatch.setattr(client_module, "load", lambda name: "{ viewer { login } }")
    with pytest.raises(RequestFailed, match="Cannot query field 'viewer'"):
        connector.client.graphql("anything", {})


def test_task_capabilities_separate_drafts_from_issues() -> None:
    from connectors.github import GitHubConnector
    from okrbridge.connector.base import Capability
    from okrbridge.domain import Task

    settings = GitHubConnector.settings_model(
        type="github",
        base_url="http://127.0.0.1:9",
        token_env="T",
        owner="acme",
        owner_type="organization",
        projects=[1],
        kr_status_field="OKR status",
    )
    connector = GitHubConnector("gh", settings, {"T": "x"})  # type: ignore[arg-type]
    issue = Task(connector="gh", external_id="I_1", key="acme/game#1")
    draft = Task(
        connector="gh",
        external_id="PVTI_1",
        key="acme/1#draft-1",
        fields={"item_type": "DRAFT_ISSUE"},
    )
    assert connector.task_capabilities(issue) == {Capability.LABELS, Capability.COMMENTS}
    assert connector.task_capabilities(draft) == {Capability.PROJECT_FIELD}


def test_screening_needs_no_tool_and_parsing_raises_while_it_is_down(vclock: Any) -> None:
    from connectors.github import GitHubConnector

    settings = GitHubConnector.settings_model(
        type="github",
        base_url="http://127.0.0.1:9",  # nothing listens: the tool is down
        token_env="T",
        webhook_secret_env="S",
        owner="acme",
        projects=[1],
    )
    env = {"T": "token", "S": "secret"}
    connector = GitHubConnector("gh", settings, env, sleep=vclock.sleep, pacer_clock=vclock)  # type: ignore[arg-type]
    body = json.dumps(load_fixture("issues__labeled.json")).encode()
    signature = "sha256=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    headers = {
        "x-github-event": "issues",
        "x-github-delivery": "d-1",
        "x-hub-signature-256": signature,
    }
    request = WebhookRequest("POST", "http://127.0.0.1/webhooks/gh", headers, body)
    assert connector.verify_webhook(request)
    screening = connector.screen_webhook(request)
    assert (screening.delivery_id, screening.event, screening.handled) == (
        "d-1",
        "issues.labeled",
        True,
    )
    assert connector.stats.requests == 0
    with pytest.raises(ConnectorError):
        connector.parse_webhook(request)  # the bot lookup fails: the worker retries later
    connector.close()
