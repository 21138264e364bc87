"""Trello webhook deliveries: signature check and action -> task events.

Trello signs `body + callbackURL` (the URL exactly as registered) with HMAC-SHA1 keyed by the
application secret and sends it base64 in `X-Trello-Webhook`. It signs the UTF-8 bytes today;
an old document described a byte-truncated form (each UTF-16 code unit cut to 8 bits) that
differs for non-ASCII bodies, so both are accepted (both need the secret).

A delivery is `{"action": {...}, "model": {...}}` with no delivery header: `action.id` is the
de-dup key. Payloads never carry a whole card (`data.card.idList` appears only on list moves,
a re-order carries only `old.pos`), so card changes become REFRESH events and the card is
re-read; `deleteCard` is a DELETE. Trello's HEAD check at registration is answered by the
receiver itself (200, no body), not here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from okrbridge.connector.base import EventKind, WebhookEvent, WebhookPayloadError, WebhookRequest
from okrbridge.connector.signatures import verify_base64_signature
from okrbridge.domain import KRStatus

from .normalize import parse_time
from .push import MARKER

__all__ = [
    "REFRESH_TYPES",
    "legacy_signed_bytes",
    "parse_delivery",
    "request_callback_url",
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
    }
)
_COMMENT_TYPES = frozenset({"commentCard", "updateComment", "deleteComment"})
_STATUS_SLUGS = tuple(status.label_slug for status in KRStatus)


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
    except ValueError as exc:
        raise WebhookPayloadError("body is not JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("action"), dict):
        raise WebhookPayloadError("no `action` object: not a Trello webhook delivery")
    action = payload["action"]
    if not isinstance(action.get("id"), str) or not isinstance(action.get("type"), str):
        raise WebhookPayloadError("the action has no id or type")
    return dict(action)


def _is_bridge_label(action: dict[str, Any]) -> bool:
    label = (action.get("data") or {}).get("label") or {}
    name = str(label.get("name") or "") if isinstance(label, dict) else ""
    return name.endswith(_STATUS_SLUGS)


def _is_bridge_comment(action: dict[str, Any]) -> bool:
    data = action.get("data") or {}
    inner = data.get("action") if isinstance(data.get("action"), dict) else {}
    text = str(data.get("text") or (inner or {}).get("text") or "")
    return MARKER in text


def parse_delivery(
    body: bytes,
    *,
    bot_id: Callable[[], str | None],
    board_ids: Callable[[], set[str]],
) -> list[WebhookEvent]:
    """Events of one delivery. `bot_id`/`board_ids` are asked only when an event needs them."""
    action = _load(body)
    kind = str(action["type"])
    data = action.get("data") if isinstance(action.get("data"), dict) else {}
    card = (data or {}).get("card") if isinstance((data or {}).get("card"), dict) else {}
    card_id = str((card or {}).get("id") or "") or None
    when: datetime | None = parse_time(action.get("date"))

    def event(event_kind: EventKind, *, own: bool = False) -> list[WebhookEvent]:
        return [
            WebhookEvent(
                delivery_id=str(action["id"]),
                kind=event_kind,
                external_id=card_id,
                own_echo=own,
                occurred_at=when,
                name=kind,
            )
        ]

    by_bot = action.get("idMemberCreator") is not None and action.get("idMemberCreator") == (
        bot_id() if kind in ("addLabelToCard", "removeLabelFromCard", *_COMMENT_TYPES) else None
    )
    if kind in _COMMENT_TYPES:
        return event(EventKind.IGNORE, own=by_bot and _is_bridge_comment(action))
    if card_id is None:
        return event(EventKind.IGNORE)
    if kind == "deleteCard":
        return event(EventKind.DELETE)
    if kind == "moveCardFromBoard":
        target = ((data or {}).get("boardTarget") or {}).get("id")
        return event(EventKind.REFRESH if target in board_ids() else EventKind.DELETE)
    if kind in REFRESH_TYPES:
        own = (
            by_bot
            and kind in ("addLabelToCard", "removeLabelFromCard")
            and _is_bridge_label(action)
        )
        return event(EventKind.REFRESH, own=own)
    return event(EventKind.IGNORE)


def request_callback_url(request: WebhookRequest, configured: str | None) -> str:
    """The URL Trello signed: the registered one (proxies rewrite what we receive)."""
    return configured or request.url
