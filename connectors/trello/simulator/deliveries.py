"""Webhook deliveries as Trello sends them, built from recorded deliveries, and signed.

The envelope of each delivery (the keys Trello puts around an action: `appCreator`, `limits`,
`display`, the `model` board's `desc` and `prefs`...) comes from a recorded delivery of the same
action type in `payloads/` (or of a close kind when none was recorded); the simulated action's
own values (ids, type, date, data, member) and the board's replace the recorded ones.

Signature, from Trello's webhook documentation: base64 of HMAC-SHA1, keyed with the
application secret, over the body followed by the callback URL exactly as registered. It is
written here from that description, with the standard library's primitives only.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["delivery_body", "sign"]

PAYLOADS = Path(__file__).parent / "payloads"
_FALLBACK = "updateCard__pos"
"""A recorded card action whose envelope stands in for action types never recorded."""
_ACTION_KEYS = ("id", "idMemberCreator", "type", "date", "data", "memberCreator")
_MODEL_KEYS = ("id", "name", "shortLink", "closed", "url")


def sign(secret: str, body: bytes, callback_url: str) -> str:
    """The `X-Trello-Webhook` header value for `body` sent to `callback_url`."""
    mac = hmac.new(secret.encode("utf-8"), body + callback_url.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


@cache
def _recorded(action_type: str) -> dict[str, Any]:
    names = sorted(p.stem for p in PAYLOADS.glob(f"{action_type}*.json"))
    chosen = next((n for n in names if n == action_type), names[0] if names else _FALLBACK)
    payload = json.loads((PAYLOADS / f"{chosen}.json").read_text("utf-8"))
    if not isinstance(payload, dict) or "action" not in payload:
        raise ValueError(f"{chosen}.json is not a recorded delivery")
    return payload


def delivery_body(action: dict[str, Any], board: dict[str, Any]) -> bytes:
    """The JSON body Trello would POST for `action` on `board`."""
    payload = copy.deepcopy(_recorded(str(action["type"])))
    recorded_action = payload["action"]
    for key in _ACTION_KEYS:
        if key in action:
            recorded_action[key] = copy.deepcopy(action[key])
        else:
            recorded_action.pop(key, None)
    display = recorded_action.get("display")
    if isinstance(display, dict):
        display["translationKey"] = f"action_{action['type']}"
    model = payload.setdefault("model", {})
    for key in _MODEL_KEYS:
        if key in board:
            model[key] = board[key]
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
