"""Trello webhook deliveries: signature check and action -> task events.

Trello signs `body + callbackURL` (the URL exactly as registered) with HMAC-SHA1 keyed by the
application secret and sends it base64 in `X-Trello-Webhook`. It signs the UTF-8 bytes today;
an old document described a byte-truncated form (each UTF-16 code unit cut to 8 bits) that
differs for non-ASCII bodies, so both are accepted (both need the secret).

A delivery is `{"action": {...}, "model": {...}}` with no delivery header: `action.id` is the
de-dup key. Screening (request path) reads only the body; parsing (inbox worker) may ask who
the bot is and which boards are configured. Payloads never carry a whole card
(`data.card.idList` appears only on list moves, a re-order carries only `old.pos`), so card
changes become REFRESH events and the card is re-read; `deleteCard` is a DELETE; actions on
boards outside the instance are ignored. Trello's HEAD check at registration is answered by
the receiver itself (200, no body), not here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from okrbridge.connector.base import (
    EventKind,
    WebhookEvent,
    WebhookPayloadError,
    WebhookRequest,
    WebhookScreening,
)
from okrbridge.connector.signatures import verify_base64_signature
from okrbridge.marks import StatusLabels

from .normalize import parse_time

__all__ = [
    "HANDLED_TYPES",
    "REFRESH_TYPES",
    "legacy_signed_bytes",
    "parse_delivery",
    "request_callback_url",
    "screen_delivery",
    "verify_signature",
]

REFRESH_TYPES = frozenset(
    {
        "createCard",
        "updateCard",
        "copyCard",
        "convertToCardFromCheckItem",
        "moveCardToBoard",
        "addLabelToCard",
        "removeLabelFromCard",
        "addMemberToCard",
        "removeMemberFromCard",
        "updateCustomFieldItem",
        "deleteComment",
    }
)
"""Re-read the card: the payload never carries the whole of it (a person deleting the
bridge's comment included: the re-read shows the comment missing)."""
HANDLED_TYPES = REFRESH_TYPES | {"deleteCard", "moveCardFromBoard"}
_ECHO_TYPES = frozenset({"addLabelToCard", "removeLabelFromCard", "deleteComment"})
"""The kinds of action the bridge's own writes cause (its comment edits are not handled)."""


def legacy_signed_bytes(body: bytes, callback_url: str) -> bytes:
    """The old documented message: `(body + url)` as UTF-16 code units cut to their low byte."""
    text = body.decode("utf-8", errors="surrogatepass") + callback_url
    return text.encode("utf-16-le", errors="surrogatepass")[::2]


def verify_signature(header: str | None, secret: bytes, body: bytes, callback_url: str) -> bool:
    """Constant-time check of `X-Trello-Webhook` in the UTF-8 form, then the legacy form."""
    modern = verify_base64_signature(header, secret, body + callback_url.encode("utf-8"))
    try:
        legacy_message = legacy_signed_bytes(body, callback_url)
    except UnicodeDecodeError:
        return modern
    legacy = verify_base64_signature(header, secret, legacy_message)
    return modern | legacy  # both computed: timing does not tell which form matched


def _load(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        raise WebhookPayloadError("body is not JSON a Trello delivery can hold") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("action"), dict):
        raise WebhookPayloadError("no `action` object: not a Trello webhook delivery")
    action = payload["action"]
    if not isinstance(action.get("id"), str) or not isinstance(action.get("type"), str):
        raise WebhookPayloadError("the action has no id or type")
    return dict(action)


def _data(action: dict[str, Any]) -> dict[str, Any]:
    data = action.get("data")
    return data if isinstance(data, dict) else {}


def _ref_id(data: dict[str, Any], key: str) -> str | None:
    ref = data.get(key)
    value = ref.get("id") if isinstance(ref, dict) else None
    return str(value) if value else None


def screen_delivery(body: bytes) -> WebhookScreening:
    """What the request path needs, from the body alone: the action id (Trello sends no
    delivery header), its type, and whether the bridge acts on that type."""
    action = _load(body)
    kind = str(action["type"])
    screening = WebhookScreening(delivery_id=str(action["id"]), event=kind)
    if kind not in HANDLED_TYPES:
        return replace(screening, handled=False, reason=f"{kind} does not change a card's task")
    if _ref_id(_data(action), "card") is None:
        return replace(screening, handled=False, reason="the action names no card")
    return screening


def _is_bridge_label(action: dict[str, Any], labels: StatusLabels) -> bool:
    label = _data(action).get("label")
    name = str(label.get("name") or "") if isinstance(label, dict) else ""
    return labels.owns(name)


def parse_delivery(
    body: bytes,
    *,
    bot_id: Callable[[], str],
    board_ids: Callable[[], set[str]],
    labels: StatusLabels,
) -> list[WebhookEvent]:
    """Events of one stored delivery (in the inbox worker). `bot_id` / `board_ids` are asked
    only when an event needs them; a failed lookup raises, so the worker retries later
    instead of giving the event another meaning."""
    action = _load(body)
    kind = str(action["type"])
    data = _data(action)
    card_id = _ref_id(data, "card")

    def event(event_kind: EventKind, *, own: bool = False) -> list[WebhookEvent]:
        return [
            WebhookEvent(
                delivery_id=str(action["id"]),
                kind=event_kind,
                external_id=card_id,
                own_echo=own,
                occurred_at=parse_time(action.get("date")),
                name=kind,
            )
        ]

    if kind not in HANDLED_TYPES or card_id is None:
        return event(EventKind.IGNORE)
    configured = board_ids()
    board = _ref_id(data, "board")
    if board is not None and board not in configured:
        return event(EventKind.IGNORE)  # a board outside the instance's scope
    if kind == "deleteCard":
        return event(EventKind.DELETE)
    if kind == "moveCardFromBoard":
        target = _ref_id(data, "boardTarget")
        return event(EventKind.REFRESH if target in configured else EventKind.DELETE)
    creator = action.get("idMemberCreator")
    if kind in _ECHO_TYPES and creator is not None and creator == bot_id():
        own = kind == "deleteComment" or _is_bridge_label(action, labels)
        return event(EventKind.REFRESH, own=own)
    return event(EventKind.REFRESH)


def request_callback_url(request: WebhookRequest, configured: str | None) -> str:
    """The URL Trello signed: the registered one (proxies rewrite what we receive)."""
    return configured or request.url
