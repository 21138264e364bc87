"""GitHub webhook deliveries: screening on the request path, task events in the worker.

Handled: `issues`, `issue_comment`, `projects_v2_item` (organization projects only: GitHub sends
no project events for user-owned projects, which are polled). `ping` and every other event are
ignored. GitHub never retries a failed delivery; the scheduled reconcile pull guarantees that a
lost one only delays an update.

`screen` is pure (headers and the JSON body only) and runs on the request path; `parse` runs in
the inbox worker, where the bot login and the projects' ids may be looked up (a failed lookup
raises and the worker retries). Most events only say *that* something changed (an `edited`
project item carries no new value), so they become REFRESH events that re-read the task; the
re-read omits tasks outside the configured projects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from connectors.github.marks import is_stamped, same_login
from connectors.github.normalize import parse_time
from okrbridge.connector.base import (
    EventKind,
    WebhookEvent,
    WebhookPayloadError,
    WebhookRequest,
    WebhookScreening,
)
from okrbridge.connector.signatures import verify_hex_signature
from okrbridge.marks import StatusLabels

__all__ = ["HANDLED_EVENTS", "WebhookContext", "parse", "screen", "verify"]


def verify(request: WebhookRequest, secret: bytes) -> bool:
    """Check `X-Hub-Signature-256` (`sha256=` + hex HMAC of the raw body), in constant time."""
    return verify_hex_signature(request.headers.get("x-hub-signature-256"), secret, request.body)


@dataclass
class WebhookContext:
    """What parsing needs from the connector, resolved lazily and cached by it (worker side)."""

    bot_login: Callable[[], str]
    """The bridge's login; raises when it cannot be resolved (the worker retries later)."""
    project_ids: Callable[[], set[str]]
    """Node ids of the configured projects; raises when they cannot be read."""
    labels: StatusLabels = field(default_factory=StatusLabels)
    bridge_field_ids: Callable[[], set[str]] = set
    """Fields the bridge writes (the draft status field): their edits by the bot are echoes."""


def _event_name(request: WebhookRequest) -> str:
    event = request.headers.get("x-github-event", "").strip()
    if not event:
        raise WebhookPayloadError("no X-GitHub-Event header: not a GitHub delivery")
    return event


def screen(request: WebhookRequest) -> WebhookScreening:
    """Delivery id, event name and handled/ignored, from the headers and the body alone."""
    event = _event_name(request)
    payload = _payload(request)
    action = payload.get("action")
    name = f"{event}.{action}" if isinstance(action, str) else event
    delivery = request.headers.get("x-github-delivery", "").strip()
    if event not in _HANDLERS:
        return WebhookScreening(delivery, name, False, f"event {event!r} is not used")
    key = _SUBJECT[event]
    if not isinstance(payload.get(key), dict):
        raise WebhookPayloadError(f"the payload has no {key!r} object")
    reason = _unused(event, payload)
    return WebhookScreening(delivery, name, not reason, reason)


def _unused(event: str, payload: dict[str, Any]) -> str:
    """Why a delivery of a handled event says nothing a task depends on ("" if it may)."""
    if (event, payload.get("action")) in _UNUSED_ACTIONS:
        return f"{event}.{payload.get('action')} changes nothing the bridge reads"
    comment = payload.get("comment")
    if event == "issue_comment" and not is_stamped(str((comment or {}).get("body") or "")):
        return "a comment that is not the bridge's"
    return ""


def parse(request: WebhookRequest, context: WebhookContext) -> list[WebhookEvent]:
    """Events for one verified delivery; `WebhookPayloadError` if it is not from GitHub."""
    event = _event_name(request)
    payload = _payload(request)
    delivery = request.headers.get("x-github-delivery") or _digest(request.body)
    action = payload.get("action")
    name = f"{event}.{action}" if isinstance(action, str) else event
    handler = _HANDLERS.get(event)
    if handler is None or (event, action) in _UNUSED_ACTIONS:  # ping, events we do not use
        return [WebhookEvent(delivery_id=delivery, kind=EventKind.IGNORE, name=name)]
    return handler(payload, context, delivery, name)


def _payload(request: WebhookRequest) -> dict[str, Any]:
    body = request.body
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = (parse_qs(body.decode("utf-8", "replace")).get("payload") or [""])[0].encode()
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:  # deeply nested JSON must not escape as 500
        raise WebhookPayloadError("the body is not a JSON object GitHub would send") from exc
    if not isinstance(payload, dict):
        raise WebhookPayloadError("the body is not a JSON object")
    return payload


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _sender(payload: dict[str, Any]) -> str:
    sender = payload.get("sender")
    return str(sender.get("login", "")) if isinstance(sender, dict) else ""


def _is_bot(payload: dict[str, Any], context: WebhookContext) -> bool:
    login = _sender(payload)
    return bool(login) and same_login(login, context.bot_login())


def _object(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise WebhookPayloadError(f"the payload has no {key!r} object")
    return value


def _issues(
    payload: dict[str, Any], context: WebhookContext, delivery: str, name: str
) -> list[WebhookEvent]:
    issue = _object(payload, "issue")
    node_id = str(issue.get("node_id", ""))
    when = parse_time(issue.get("updated_at"))
    if not node_id:
        raise WebhookPayloadError("the issue has no node_id")
    if payload.get("action") == "deleted":
        return [WebhookEvent(delivery, EventKind.DELETE, node_id, occurred_at=when, name=name)]
    label = payload.get("label")
    echo = (
        payload.get("action") in ("labeled", "unlabeled")
        and isinstance(label, dict)
        and context.labels.owns(str(label.get("name", "")))
        and _is_bot(payload, context)
    )
    return [
        WebhookEvent(
            delivery, EventKind.REFRESH, node_id, own_echo=echo, occurred_at=when, name=name
        )
    ]


def _issue_comment(
    payload: dict[str, Any], context: WebhookContext, delivery: str, name: str
) -> list[WebhookEvent]:
    """A change to the bridge's comment (on an issue or a pull request alike) re-reads the
    task, so a person's edit or deletion is seen; the bridge's own writes are echoes."""
    issue = _object(payload, "issue")
    comment = _object(payload, "comment")
    stamped = is_stamped(str(comment.get("body") or ""))
    when = parse_time(comment.get("updated_at"))
    node_id = str(issue.get("node_id", ""))
    if not stamped or not node_id:  # comments are not part of a task
        return [
            WebhookEvent(delivery, EventKind.IGNORE, node_id or None, occurred_at=when, name=name)
        ]
    echo = _is_bot(payload, context)
    return [
        WebhookEvent(
            delivery, EventKind.REFRESH, node_id, own_echo=echo, occurred_at=when, name=name
        )
    ]


def _projects_v2_item(
    payload: dict[str, Any], context: WebhookContext, delivery: str, name: str
) -> list[WebhookEvent]:
    item = _object(payload, "projects_v2_item")
    item_id = str(item.get("node_id", ""))
    if not item_id:
        raise WebhookPayloadError("the project item has no node_id")
    is_draft = item.get("content_type") == "DraftIssue"
    external_id = item_id if is_draft else str(item.get("content_node_id") or item_id)
    when = parse_time(item.get("updated_at"))
    action = payload.get("action")
    if item.get("project_node_id") not in context.project_ids():  # another project
        return [WebhookEvent(delivery, EventKind.IGNORE, external_id, occurred_at=when, name=name)]
    if action == "deleted":
        return [WebhookEvent(delivery, EventKind.DELETE, external_id, occurred_at=when, name=name)]
    if action == "converted" and not is_draft:
        # A draft became an issue: the draft's task (keyed by item id) is gone.
        return [
            WebhookEvent(delivery, EventKind.DELETE, item_id, occurred_at=when, name=name),
            WebhookEvent(
                f"{delivery}:2", EventKind.REFRESH, external_id, occurred_at=when, name=name
            ),
        ]
    changes = payload.get("changes") or {}
    changed_field = (changes.get("field_value") or {}) if isinstance(changes, dict) else {}
    echo = (
        action == "edited"
        and isinstance(changed_field, dict)
        and changed_field.get("field_node_id") in context.bridge_field_ids()
        and _is_bot(payload, context)
    )
    return [
        WebhookEvent(
            delivery, EventKind.REFRESH, external_id, own_echo=echo, occurred_at=when, name=name
        )
    ]


_Handler = Callable[[dict[str, Any], WebhookContext, str, str], list[WebhookEvent]]
_HANDLERS: dict[str, _Handler] = {
    "issues": _issues,
    "issue_comment": _issue_comment,
    "projects_v2_item": _projects_v2_item,
}
_UNUSED_ACTIONS = frozenset(
    {
        ("issues", "pinned"),
        ("issues", "unpinned"),
        ("issues", "locked"),
        ("issues", "unlocked"),
        ("projects_v2_item", "reordered"),
    }
)
_SUBJECT = {"issues": "issue", "issue_comment": "issue", "projects_v2_item": "projects_v2_item"}
HANDLED_EVENTS = frozenset(_HANDLERS)
