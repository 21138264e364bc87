"""Jira webhook deliveries -> task events, parsed defensively.

Real payloads vary: `user` may carry only `name`/`key` (Data Center) or be missing (the actor is
then in `comment.author`), comment edits and deletions may arrive as `jira:issue_updated` with
`issue_event_type_name` `issue_comment_edited` / `issue_comment_deleted`, `statusCategory` may be
absent, and changelog field names differ in case. Whatever a payload lacks becomes a REFRESH
(the core re-reads the issue); only garbage raises `WebhookPayloadError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from okrbridge.connector.base import EventKind, WebhookEvent, WebhookPayloadError, WebhookRequest
from okrbridge.connector.cursor import from_epoch_millis
from okrbridge.connector.signatures import verify_hex_signature
from okrbridge.domain import KRStatus, Task

from .normalize import FieldMap, IssueShapeError, normalize_issue

__all__ = ["HANDLED_EVENTS", "JiraWebhookParser", "bridge_owned_label", "verify_signature"]

ISSUE_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated"})
COMMENT_EVENTS = frozenset({"comment_created", "comment_updated", "comment_deleted"})
HANDLED_EVENTS = ISSUE_EVENTS | COMMENT_EVENTS | {"jira:issue_deleted"}
_COMMENT_TYPES = frozenset({"issue_commented", "issue_comment_edited", "issue_comment_deleted"})
_STATUS_SLUGS = tuple(status.label_slug for status in KRStatus)


def verify_signature(request: WebhookRequest, secret: bytes) -> bool:
    """`X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`, compared in constant time."""
    return verify_hex_signature(request.headers.get("x-hub-signature"), secret, request.body)


def bridge_owned_label(label: str) -> bool:
    """A status label the bridge writes: some prefix followed by a status slug (`okr:on-track`)."""
    return any(label.endswith(slug) and len(label) > len(slug) for slug in _STATUS_SLUGS)


class JiraWebhookParser:
    """Parses deliveries for one instance; `bot_account` is asked lazily (echo detection)."""

    def __init__(
        self,
        *,
        instance: str,
        base_url: str,
        field_map: Callable[[], FieldMap | None],
        bot_account: Callable[[], str | None],
    ) -> None:
        self.instance = instance
        self.base_url = base_url
        self._field_map = field_map
        self._bot_account = bot_account

    def parse(self, request: WebhookRequest) -> list[WebhookEvent]:
        payload = _load(request.body)
        name = payload["webhookEvent"]
        delivery = _delivery_id(request, payload)
        occurred = _timestamp(payload.get("timestamp"))
        issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else None
        issue_id = str(issue["id"]) if issue and issue.get("id") else None
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
        if task is None:
            return event(EventKind.REFRESH, own_echo=own)
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
        """The bridge's account acted and touched only what the bridge owns."""
        actor = _actor(payload)
        bot = self._bot_account() if actor else None
        if bot is None or bot not in actor:
            return False
        if name in COMMENT_EVENTS or event_type in _COMMENT_TYPES:
            # The bridge only ever writes its own comment, so the comment's author must be it too.
            comment = payload.get("comment")
            author = _user_ids(comment.get("author")) if isinstance(comment, dict) else set()
            return not author or bot in author
        return _only_bridge_labels(payload.get("changelog"))


def _load(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookPayloadError("body is not JSON") from exc
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


def _only_bridge_labels(changelog: Any) -> bool:
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
        if not all(bridge_owned_label(label) for label in before ^ after):
            return False
    return True
