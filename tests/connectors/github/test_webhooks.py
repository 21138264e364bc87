"""Webhook verification and parsing: GitHub's signature vector, fixtures named after their event,
and every example payload GitHub's own package publishes for the events we handle."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.github import webhooks
from okrbridge.connector.base import EventKind, WebhookPayloadError, WebhookRequest
from okrbridge.connector.signatures import hmac_hex
from okrbridge.marks import StatusLabels
from tests.connectors.github.conftest import load_fixture

SECRET = b"It's a Secret to Everybody"


def _request(event: str, payload: Any, *, signature: str = "") -> WebhookRequest:
    body = json.dumps(payload).encode()
    headers = {
        "x-github-event": event,
        "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "x-hub-signature-256": signature or "sha256=" + hmac_hex(SECRET, body),
        "content-type": "application/json",
    }
    return WebhookRequest(
        method="POST", url="http://127.0.0.1/hooks/gh", headers=headers, body=body
    )


class _AnyProject(set[str]):
    """Every project counts as configured (the published examples use many)."""

    def __contains__(self, _item: object) -> bool:
        return True


def _context(
    bot: str = "okr-bot", projects: set[str] | None = None, prefix: str = "okr:"
) -> webhooks.WebhookContext:
    return webhooks.WebhookContext(
        bot_login=lambda: bot,
        project_ids=lambda: _AnyProject() if projects is None else projects,
        labels=StatusLabels(prefix),
        bridge_field_ids=lambda: {"PVTSSF_okr"},
    )


def test_signature_matches_githubs_documented_vector() -> None:
    body = b"Hello, World!"
    expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    request = WebhookRequest("POST", "/", {"x-hub-signature-256": f"sha256={expected}"}, body)
    assert webhooks.verify(request, SECRET)
    assert not webhooks.verify(request, b"another secret")
    tampered = WebhookRequest("POST", "/", request.headers, b"Hello, World?")
    assert not webhooks.verify(tampered, SECRET)
    assert not webhooks.verify(WebhookRequest("POST", "/", {}, body), SECRET)


def test_bridge_label_by_bot_is_an_echo() -> None:
    payload = load_fixture("issues__labeled.json")
    [event] = webhooks.parse(_request("issues", payload), _context())
    assert event.kind is EventKind.REFRESH
    assert event.external_id == payload["issue"]["node_id"]
    assert event.own_echo
    assert event.delivery_id == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert event.name == "issues.labeled"


def test_same_label_by_a_person_or_other_label_by_bot_counts() -> None:
    payload = load_fixture("issues__labeled.json")
    payload["sender"]["login"] = "octocat"
    [event] = webhooks.parse(_request("issues", payload), _context())
    assert not event.own_echo
    payload = load_fixture("issues__labeled.json")
    payload["label"]["name"] = "bug"
    [event] = webhooks.parse(_request("issues", payload), _context())
    assert not event.own_echo


def test_echo_follows_the_configured_prefix() -> None:
    payload = load_fixture("issues__labeled.json")
    assert payload["label"]["name"] == "okr:on-track"
    [event] = webhooks.parse(_request("issues", payload), _context(prefix="status/"))
    assert not event.own_echo  # under prefix "status/" this label is a person's
    payload["label"]["name"] = "status/on-track"
    [event] = webhooks.parse(_request("issues", payload), _context(prefix="status/"))
    assert event.own_echo


def test_deleted_issue_is_a_delete() -> None:
    payload = load_fixture("issues__deleted.json")
    [event] = webhooks.parse(_request("issues", payload), _context())
    assert (event.kind, event.external_id) == (EventKind.DELETE, payload["issue"]["node_id"])


def test_marked_comment_by_bot_is_an_echo_and_by_person_a_refresh() -> None:
    payload = load_fixture("issue_comment__edited.json")
    [event] = webhooks.parse(_request("issue_comment", payload), _context())
    assert event.own_echo
    assert event.kind is EventKind.REFRESH
    payload["sender"]["login"] = "octocat"
    [event] = webhooks.parse(_request("issue_comment", payload), _context())
    assert not event.own_echo
    assert event.kind is EventKind.REFRESH
    payload["comment"]["body"] = "just a comment"
    [event] = webhooks.parse(_request("issue_comment", payload), _context())
    assert event.kind is EventKind.IGNORE


@pytest.mark.parametrize("action", ["edited", "deleted"])
def test_a_persons_change_to_the_bridge_comment_on_a_pull_request_is_seen(action: str) -> None:
    payload = load_fixture("issue_comment__edited.json")
    payload["action"] = action
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/acme/app/pulls/1"}
    payload["sender"]["login"] = "octocat"
    [event] = webhooks.parse(_request("issue_comment", payload), _context())
    assert (event.kind, event.own_echo) == (EventKind.REFRESH, False)
    assert event.external_id == payload["issue"]["node_id"]


def test_bot_login_from_rest_and_graphql_spellings_match() -> None:
    payload = load_fixture("issue_comment__edited.json")
    payload["sender"]["login"] = "okr-app[bot]"
    [event] = webhooks.parse(_request("issue_comment", payload), _context(bot="okr-app"))
    assert event.own_echo


def test_a_failed_identity_lookup_raises_instead_of_changing_the_meaning() -> None:
    def down() -> str:
        raise ConnectionError("GitHub is unreachable")

    payload = load_fixture("issues__labeled.json")
    context = _context()
    context.bot_login = down
    with pytest.raises(ConnectionError):
        webhooks.parse(_request("issues", payload), context)


def test_screening_is_pure_and_classifies() -> None:
    handled = webhooks.screen(_request("issues", load_fixture("issues__labeled.json")))
    assert (handled.delivery_id, handled.event, handled.handled) == (
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "issues.labeled",
        True,
    )
    ignored = webhooks.screen(_request("ping", load_fixture("ping.json")))
    assert not ignored.handled
    assert "ping" in ignored.reason
    with pytest.raises(WebhookPayloadError):
        webhooks.screen(_request("issues", {"action": "opened"}))
    persons = load_fixture("issue_comment__edited.json")
    persons["comment"]["body"] = "a person's comment"
    assert not webhooks.screen(_request("issue_comment", persons)).handled
    pinned = {**load_fixture("issues__labeled.json"), "action": "pinned"}
    assert not webhooks.screen(_request("issues", pinned)).handled
    [event] = webhooks.parse(_request("issues", pinned), _context())
    assert event.kind is EventKind.IGNORE


def test_deeply_nested_json_is_a_payload_error_not_a_crash() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    request = WebhookRequest("POST", "/", {"x-github-event": "issues"}, body)
    with pytest.raises(WebhookPayloadError):
        webhooks.screen(request)
    with pytest.raises(WebhookPayloadError):
        webhooks.parse(request, _context())


def test_project_item_edit_refreshes_the_item() -> None:
    payload = load_fixture("projects_v2_item__edited.json")
    [event] = webhooks.parse(_request("projects_v2_item", payload), _context())
    # A draft's task id is the item id; the payload carries no new value.
    assert (event.kind, event.external_id) == (EventKind.REFRESH, "PVTI_lADOAWcTxs07G84AVqWu")
    assert not event.own_echo
    payload["projects_v2_item"]["content_type"] = "Issue"
    payload["projects_v2_item"]["content_node_id"] = "I_abc"
    [event] = webhooks.parse(_request("projects_v2_item", payload), _context())
    assert event.external_id == "I_abc"


def test_project_item_event_for_another_project_is_ignored() -> None:
    payload = load_fixture("projects_v2_item__edited.json")
    [event] = webhooks.parse(_request("projects_v2_item", payload), _context(projects={"PVT_x"}))
    assert event.kind is EventKind.IGNORE


def test_bot_edit_of_the_bridge_field_is_an_echo() -> None:
    payload = load_fixture("projects_v2_item__edited.json")
    payload["sender"]["login"] = "okr-bot"
    payload["changes"]["field_value"]["field_node_id"] = "PVTSSF_okr"
    [event] = webhooks.parse(_request("projects_v2_item", payload), _context())
    assert event.own_echo


def test_ping_and_unknown_events_are_ignored() -> None:
    [event] = webhooks.parse(_request("ping", load_fixture("ping.json")), _context())
    assert event.kind is EventKind.IGNORE
    [event] = webhooks.parse(_request("star", {"action": "created"}), _context())
    assert event.kind is EventKind.IGNORE


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"x-github-event": "issues"}, b"not json"),
        ({"x-github-event": "issues"}, b"[1, 2]"),
        ({}, b"{}"),
        ({"x-github-event": "issues"}, b'{"action": "opened"}'),
    ],
)
def test_implausible_bodies_are_payload_errors(headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(WebhookPayloadError):
        webhooks.parse(WebhookRequest("POST", "/", headers, body), _context())


def test_form_encoded_delivery_is_read() -> None:
    payload = load_fixture("issues__deleted.json")
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"x-github-event": "issues", "content-type": "application/x-www-form-urlencoded"}
    [event] = webhooks.parse(WebhookRequest("POST", "/", headers, body), _context())
    assert event.kind is EventKind.DELETE


@pytest.mark.parametrize("event_name", ["issues", "issue_comment", "projects_v2_item", "ping"])
def test_every_published_example_is_accepted(
    webhook_examples: dict[str, list[dict[str, Any]]], event_name: str
) -> None:
    examples = webhook_examples[event_name]
    assert examples
    for payload in examples:
        screening = webhooks.screen(_request(event_name, payload))
        events = webhooks.parse(_request(event_name, payload), _context())
        assert events, payload.get("action")
        if not screening.handled:  # what the edge drops, the worker would have ignored
            assert all(e.kind is EventKind.IGNORE for e in events), screening.event
        for event in events:
            if event_name == "ping":
                assert event.kind is EventKind.IGNORE
            elif event.kind is not EventKind.IGNORE:
                assert event.external_id
