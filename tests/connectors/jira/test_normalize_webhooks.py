"""Normalization of issue JSON and parsing of every webhook fixture."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime
from typing import Any

import pytest

from connectors.jira import JiraConnector, JiraSettings
from connectors.jira.normalize import FieldMap, normalize_issue
from connectors.jira.webhooks import project_scope
from okrbridge.connector.base import EventKind, WebhookPayloadError, WebhookRequest
from okrbridge.connector.errors import ConnectorError
from okrbridge.connector.transport import RetryPolicy
from okrbridge.domain import StatusCategory, Task
from okrbridge.marks import StatusLabels

from .conftest import fixture_bytes, load

BOT_ID = "5b10ac8d82e05b22cc7d4ef5"
FIELD_MAP = FieldMap(estimate="customfield_10016", extra={"Team": "customfield_10050"})


def test_bulkfetch_issue_normalizes_to_the_exact_task() -> None:
    issue = load("issue_bulkfetch.json")["issues"][0]
    task = normalize_issue(
        issue, instance="jira", base_url="https://example.atlassian.net", field_map=FIELD_MAP
    )
    assert task == Task(
        connector="jira",
        external_id="10042",
        key="MKT-12",
        url="https://example.atlassian.net/browse/MKT-12",
        title="Prompt happy players for an App Store review",
        container="MKT",
        container_aliases=("Marketing", "10000"),  # a rule may name the project these ways
        status_name="In Review",
        status_category=StatusCategory.IN_PROGRESS,
        labels=("growth", "mobile"),
        assignees=("Alice Martin",),
        estimate=5.0,
        parent="MKT-10",
        due=date(2026, 6, 30),
        fields={"issuetype": "Story", "priority": "High", "Team": "Growth"},
        updated_at=datetime(2026, 5, 4, 7, 15, 27, 412000, tzinfo=UTC),
        raw=issue,
    )


def test_wont_do_resolution_is_excluded() -> None:
    issue = load("issue_bulkfetch.json")["issues"][0]
    issue["fields"]["status"]["statusCategory"]["key"] = "done"
    issue["fields"]["resolution"] = {"id": "10001", "name": "Won't Do"}
    task = normalize_issue(issue, instance="j", base_url="https://x", field_map=FieldMap())
    assert task.status_category is StatusCategory.DONE
    assert task.excluded
    assert task.estimate is None


def _connector(secret: bool = True, **extra: Any) -> JiraConnector:
    table: dict[str, Any] = {
        "base_url": "https://example.atlassian.net",
        "jql": "project = MKT",
        "estimate_field": "customfield_10016",
        "bot_account_id": BOT_ID,
        **extra,
    }
    env = {"JIRA_EMAIL": "bot@example.com", "JIRA_API_TOKEN": "t"}
    if secret:
        table["webhook_secret_env"] = "HOOK_SECRET"
        env["HOOK_SECRET"] = "s3cret"
    return JiraConnector("jira", JiraSettings(**table), env)


def _request(name: str, delivery: str = "d-1", body: bytes | None = None) -> WebhookRequest:
    raw = body if body is not None else fixture_bytes(name)
    sig = hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    headers = {"x-atlassian-webhook-identifier": delivery, "x-hub-signature": f"sha256={sig}"}
    return WebhookRequest("POST", "https://bridge/hooks/jira", headers, raw)


def test_signature_is_verified_over_raw_bytes() -> None:
    conn = _connector()
    good = _request("jira__issue_updated.json")
    assert conn.verify_webhook(good)
    tampered = WebhookRequest(good.method, good.url, good.headers, good.body + b" ")
    assert not conn.verify_webhook(tampered)
    unsigned = WebhookRequest(good.method, good.url, {}, good.body)
    assert not conn.verify_webhook(unsigned)
    assert _connector(secret=False).verify_webhook(unsigned)  # documented risk


def test_person_status_change_is_an_upsert_with_the_new_state() -> None:
    [event] = _connector().parse_webhook(_request("jira__issue_updated.json", "abc"))
    assert event.kind is EventKind.UPSERT
    assert event.delivery_id == "abc"
    assert event.external_id == "10042"
    assert not event.own_echo
    assert event.task is not None
    assert event.task.status_category is StatusCategory.IN_PROGRESS
    assert event.task.estimate == 5.0
    assert event.occurred_at == datetime.fromtimestamp(1777878927.431, UTC)


def test_bot_label_write_is_an_echo_but_keeps_the_task() -> None:
    [event] = _connector().parse_webhook(_request("jira__issue_updated__bot_labels.json"))
    assert event.own_echo
    assert event.kind is EventKind.UPSERT
    assert event.task is not None
    assert "okr:on-track" in event.task.labels


def test_bot_touching_a_person_label_is_not_an_echo() -> None:
    [event] = _connector().parse_webhook(_request("jira__issue_updated__bot_mixed.json"))
    assert not event.own_echo
    assert event.kind is EventKind.UPSERT


def test_missing_status_category_asks_for_a_refresh() -> None:
    [event] = _connector().parse_webhook(_request("jira__issue_updated__no_category.json"))
    assert event.kind is EventKind.REFRESH
    assert event.external_id == "10042"
    assert not event.own_echo  # actor known only by name "admin", not the bot


def test_comment_edit_by_bot_known_only_by_name_is_not_an_echo_without_its_id() -> None:
    # The bot is configured by accountId; this Data Center-style payload names it only by
    # `name`, so the parser cannot prove it is the bridge: a refresh, not a dropped event.
    [event] = _connector().parse_webhook(_request("jira__issue_updated__comment_edited.json"))
    assert event.kind is EventKind.REFRESH
    assert not event.own_echo


def test_comment_edit_by_bot_name_matches_when_configured_by_name() -> None:
    conn = _connector(bot_account_id="okrbridge-bot")
    [event] = conn.parse_webhook(_request("jira__issue_updated__comment_edited.json"))
    assert event.own_echo
    assert event.kind is EventKind.IGNORE


@pytest.mark.parametrize(
    ("name", "kind", "echo"),
    [
        ("comment_created.json", EventKind.IGNORE, True),  # no `user`: actor from comment.author
        ("comment_updated.json", EventKind.IGNORE, True),
        ("comment_deleted.json", EventKind.REFRESH, False),
        ("jira__issue_updated__comment_deleted.json", EventKind.REFRESH, False),
        ("jira__issue_deleted.json", EventKind.DELETE, False),
        ("worklog_created.json", EventKind.IGNORE, False),
    ],
)
def test_each_fixture_parses(name: str, kind: EventKind, echo: bool) -> None:
    [event] = _connector().parse_webhook(_request(name))
    assert (event.kind, event.own_echo) == (kind, echo)
    assert event.name.startswith(load(name)["webhookEvent"])


def test_created_issue_is_an_upsert_in_todo() -> None:
    [event] = _connector().parse_webhook(_request("jira__issue_created.json"))
    assert event.kind is EventKind.UPSERT
    assert event.task is not None
    assert event.task.status_category is StatusCategory.TODO


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"issue": {}}', b"\xff\xfe"])
def test_garbage_raises_payload_error(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError):
        _connector().parse_webhook(_request("x", body=body))


def test_delivery_id_falls_back_to_a_body_digest() -> None:
    raw = fixture_bytes("jira__issue_deleted.json")
    request = WebhookRequest("POST", "u", {}, raw)
    [first] = _connector(secret=False).parse_webhook(request)
    [again] = _connector(secret=False).parse_webhook(request)
    assert first.delivery_id == again.delivery_id
    assert first.delivery_id.startswith("jira-body-")


def test_screening_needs_no_tool_and_classifies_from_the_body() -> None:
    conn = _connector(bot_account_id=None, base_url="http://127.0.0.1:9")  # nothing listens
    handled = conn.screen_webhook(_request("jira__issue_updated.json", "id-7"))
    assert (handled.delivery_id, handled.handled) == ("id-7", True)
    assert handled.event.startswith("jira:issue_updated")
    ignored = conn.screen_webhook(_request("worklog_created.json"))
    assert not ignored.handled
    assert ignored.reason
    with pytest.raises(WebhookPayloadError):
        conn.screen_webhook(_request("x", body=b"[" * 100_000 + b"]" * 100_000))


def test_deeply_nested_json_is_a_payload_error_in_the_worker_too() -> None:
    with pytest.raises(WebhookPayloadError):
        _connector().parse_webhook(_request("x", body=b'{"a":' * 50_000 + b"1" + b"}" * 50_000))


def test_a_failed_bot_lookup_raises_and_is_tried_again_later() -> None:
    conn = _connector(bot_account_id=None, base_url="http://127.0.0.1:9")
    fast = RetryPolicy(max_attempts=1, base_delay=0.01, max_delay=0.01)
    conn = JiraConnector("jira", conn.settings, conn.env, retry_policy=fast)
    request = _request("jira__issue_updated__bot_labels.json")
    for _ in range(2):  # the failure is not remembered as "no bot"
        with pytest.raises(ConnectorError):
            conn.parse_webhook(request)


def test_a_delivery_outside_a_project_scope_is_ignored() -> None:
    inside = _connector(jql="project in (MKT, GAME)")
    [event] = inside.parse_webhook(_request("jira__issue_updated.json"))
    assert event.kind is EventKind.UPSERT
    outside = _connector(jql="project in (OPS, GAME)")
    [event] = outside.parse_webhook(_request("jira__issue_updated.json"))
    assert event.kind is EventKind.IGNORE
    assert event.task is None
    other = _connector(jql="project = MKT AND labels = growth")  # not a project list
    [event] = other.parse_webhook(_request("jira__issue_updated.json"))
    assert event.kind is EventKind.REFRESH


def test_own_echo_follows_the_configured_label_prefix() -> None:
    conn = _connector()
    conn.labels = StatusLabels("status/")
    [event] = conn.parse_webhook(_request("jira__issue_updated__bot_labels.json"))
    assert not event.own_echo  # okr:* labels are not this instance's


@pytest.mark.parametrize(
    ("jql", "projects"),
    [
        ("project = MKT", {"MKT"}),
        ('project in (MKT, "game")', {"MKT", "GAME"}),
        ("project = MKT OR labels = x", None),
        ("project is not EMPTY", None),
    ],
)
def test_project_scope(jql: str, projects: set[str] | None) -> None:
    assert project_scope(jql) == (frozenset(projects) if projects is not None else None)


def test_preflight_names_status_labels_jira_would_refuse() -> None:
    assert _connector().preflight() == []
    spaced = JiraConnector(
        "jira",
        _connector().settings,
        {"JIRA_EMAIL": "x", "JIRA_API_TOKEN": "t"},
        labels=StatusLabels("okr status:"),
    )
    problems = spaced.preflight()
    assert len(problems) == 5
    assert "'okr status:on-track' is not a valid Jira label" in " ".join(problems)
