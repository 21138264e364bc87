"""Jira webhook deliveries -> task events, parsed defensively.

Two steps: `screen` runs on the request path and only reads the body (delivery id, event,
handled or ignored: no I/O); `parse` runs in the inbox worker, where the bot's account may be
looked up (a failed lookup raises and the worker retries; it never changes what an event
means) and where an issue outside the instance's scope is refused.

Real payloads vary: `user` may carry only `name`/`key` (Data Center) or be missing (the actor is
then in `comment.author`), comment edits and deletions may arrive as `jira:issue_updated` with
`issue_event_type_name` `issue_comment_edited` / `issue_comment_deleted`, `statusCategory` may be
absent, and changelog field names differ in case. Whatever a payload lacks becomes a REFRESH
(the core re-reads the issue); only garbage raises `WebhookPayloadError`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from okrbridge.connector.base import (
    EventKind,
    WebhookEvent,
    WebhookPayloadError,
    WebhookRequest,
    WebhookScreening,
)
from okrbridge.connector.cursor import from_epoch_millis
from okrbridge.connector.signatures import verify_hex_signature
from okrbridge.domain import Task
from okrbridge.marks import StatusLabels

from .normalize import FieldMap, IssueShapeError, normalize_issue

__all__ = [
    "HANDLED_EVENTS",
    "JiraWebhookParser",
    "project_scope",
    "screen_delivery",
    "verify_signature",
]

ISSUE_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated"})
COMMENT_EVENTS = frozenset({"comment_created", "comment_updated", "comment_deleted"})
HANDLED_EVENTS = ISSUE_EVENTS | COMMENT_EVENTS | {"jira:issue_deleted"}
_COMMENT_TYPES = frozenset({"issue_commented", "issue_comment_edited", "issue_comment_deleted"})
_PROJECT_SCOPE = re.compile(
    r"^\s*project\s*(?:=\s*(?P<one>[\w\"']+)|in\s*\((?P<many>[\w\s,\"']+)\))\s*$", re.IGNORECASE
)


def verify_signature(request: WebhookRequest, secret: bytes) -> bool:
    """`X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`, compared in constant time."""
    return verify_hex_signature(request.headers.get("x-hub-signature"), secret, request.body)


def project_scope(jql: str) -> frozenset[str] | None:
    """The project keys of a scope that is only a project restriction (`project = MKT`,
    `project in (MKT, GAME)`), which a delivery can be checked against without a search;
    None for any other query (then the worker re-reads the issue through the scope)."""
    match = _PROJECT_SCOPE.match(jql)
    if match is None:
        return None
    names = match.group("one") or match.group("many") or ""
    return frozenset(n.strip(" \"'").upper() for n in names.split(",") if n.strip(" \"'"))


def screen_delivery(request: WebhookRequest) -> WebhookScreening:
    """Delivery id, event and handled/ignored from the body alone (the request path)."""
    payload = _load(request.body)
    name = payload["webhookEvent"]
    event_type = str(payload.get("issue_event_type_name") or "")
    label = f"{name}/{event_type}" if event_type else name
    delivery = _delivery_id(request, payload)
    if name not in HANDLED_EVENTS:
        return WebhookScreening(delivery, label, handled=False, reason=f"event {name} not used")
    if _issue_id(payload) is None:
        return WebhookScreening(delivery, label, handled=False, reason="no issue id in the body")
    return WebhookScreening(delivery, label)


class JiraWebhookParser:
    """Parses deliveries for one instance; `bot_account` is asked lazily (echo detection)."""

    def __init__(
        self,
        *,
        instance: str,
        base_url: str,
        field_map: Callable[[], FieldMap | None],
        bot_account: Callable[[], str | None],
        labels: StatusLabels,
        projects: frozenset[str] | None = None,
    ) -> None:
        self.instance = instance
        self.base_url = base_url
        self._field_map = field_map
        self._bot_account = bot_account
        self.labels = labels
        self.projects = projects
        """Projects of a project-only scope; None: scope is checked by re-reading the issue."""

    def parse(self, request: WebhookRequest) -> list[WebhookEvent]:
        payload = _load(request.body)
        name = payload["webhookEvent"]
        delivery = _delivery_id(request, payload)
        occurred = _timestamp(payload.get("timestamp"))
        issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else None
        issue_id = _issue_id(payload)
        event_type = str(payload.get("issue_event_type_name") or "")

        def event(kind: EventKind, **extra: Any) -> list[WebhookEvent]:
            return [
                WebhookEvent(
                    delivery_id=delivery,
                    kind=kind,
                    external_id=issue_id,
                    occurred_at=occurred,
                    name=f"{name}/{event_type}" if event_type else name,
                    **extra,
                )
            ]

        if name not in HANDLED_EVENTS or issue_id is None:
            return event(EventKind.IGNORE)
        if name == "jira:issue_deleted":
            return event(EventKind.DELETE)
        own = self._is_own_echo(payload, name, event_type)
        if name in COMMENT_EVENTS or event_type in _COMMENT_TYPES:
            # A comment does not change what the bridge reads from an issue; re-read it only
            # when a person acted (their comment may be a deletion of the bridge's own one).
            return event(EventKind.IGNORE if own else EventKind.REFRESH, own_echo=own)
        task = self._task(issue)
        if task is None or self.projects is None:
            return event(EventKind.REFRESH, own_echo=own)  # the re-read checks the scope
        if task.container.upper() not in self.projects:
            return event(EventKind.IGNORE)  # outside this instance's scope
        return event(EventKind.UPSERT, task=task, own_echo=own)

    # -- pieces -------------------------------------------------------------------------------
    def _task(self, issue: Mapping[str, Any] | None) -> Task | None:
        field_map = self._field_map()
        if issue is None or field_map is None:
            return None  # estimate field not resolved yet: let a fetch read it properly
        try:
            return normalize_issue(
                issue, instance=self.instance, base_url=self.base_url, field_map=field_map
            )
        except (IssueShapeError, ValueError, TypeError):
            return None

    def _is_own_echo(self, payload: Mapping[str, Any], name: str, event_type: str) -> bool:
        """The bridge's account acted and touched only what the bridge owns. Looking the
        account up may raise (the worker retries the delivery later)."""
        actor = _actor(payload)
        bot = self._bot_account() if actor else None
        if bot is None or bot not in actor:
            return False
        if name in COMMENT_EVENTS or event_type in _COMMENT_TYPES:
            # The bridge only ever writes its own comment, so the comment's author must be it too.
            comment = payload.get("comment")
            author = _user_ids(comment.get("author")) if isinstance(comment, dict) else set()
            return not author or bot in author
        return _only_bridge_labels(payload.get("changelog"), self.labels)


def _issue_id(payload: Mapping[str, Any]) -> str | None:
    issue = payload.get("issue")
    return str(issue["id"]) if isinstance(issue, dict) and issue.get("id") else None


def _load(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookPayloadError("body is not JSON") from exc
    except RecursionError as exc:  # deeply nested JSON: implausible, never a traceback
        raise WebhookPayloadError("body is nested too deeply") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("webhookEvent"), str):
        raise WebhookPayloadError("not a Jira webhook (no webhookEvent)")
    return payload


def _delivery_id(request: WebhookRequest, payload: Mapping[str, Any]) -> str:
    # The identifier header is unchanged across Jira's retries: the de-duplication key.
    header = request.headers.get("x-atlassian-webhook-identifier")
    if header:
        return header
    digest = hashlib.sha256(request.body).hexdigest()[:32]
    return f"jira-body-{digest}"


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        try:
            return from_epoch_millis(int(value))
        except (OverflowError, ValueError):
            return None
    return None


def _user_ids(user: Any) -> set[str]:
    """Every identifier a user object carries (Cloud: accountId; Data Center: key, name)."""
    if not isinstance(user, dict):
        return set()
    return {str(user[k]) for k in ("accountId", "key", "name") if user.get(k)}


def _actor(payload: Mapping[str, Any]) -> set[str]:
    """Who acted: `user`, or when a payload has none (comment events), the comment's editor."""
    actor = _user_ids(payload.get("user"))
    comment = payload.get("comment")
    if not actor and isinstance(comment, dict):
        actor = _user_ids(comment.get("updateAuthor")) or _user_ids(comment.get("author"))
    return actor


def _only_bridge_labels(changelog: Any, labels: StatusLabels) -> bool:
    """Every changelog item is a labels change whose difference is only bridge labels."""
    items = changelog.get("items") if isinstance(changelog, dict) else None
    if not isinstance(items, list) or not items:
        return False
    for item in items:
        if not isinstance(item, dict):
            return False
        field = str(item.get("field") or item.get("fieldId") or "").casefold()
        if field != "labels":
            return False
        before = set(str(item.get("fromString") or "").split())
        after = set(str(item.get("toString") or "").split())
        if not all(labels.owns(label) for label in before ^ after):
            return False
    return True
