"""The bridge's comment on a card: how it is written, stamped and recognised again.

The comment ends with a marker line, a tiny link that Trello's markdown renders as the word
"okrbridge": `[okrbridge](#okrbridge:<digest>)`. The link target carries the stamp
(`okrbridge.marks.comment_stamp`), so a later read tells whether the comment is current.
Release 0.1 wrote `[okrbridge](#okrbridge)` (no digest): still the bridge's. A comment is the
bridge's only if it carries the marker AND was written by the bot member.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from okrbridge.domain import FoundMarks
from okrbridge.marks import comment_stamp, read_stamp

__all__ = [
    "COMMENT_MAX",
    "bridge_comment_marks",
    "comment_digest",
    "has_marker",
    "is_bridge_comment",
    "marker",
    "render_comment",
]

COMMENT_MAX = 16384
"""Trello's limit on comment length."""
_MARKER = re.compile(r"\[okrbridge\]\(#([^)\s]*)\)")


def marker(digest: str = "") -> str:
    """The marker line, stamped with `digest`."""
    return f"[okrbridge](#{comment_stamp(digest)})"


def render_comment(markdown: str, digest: str = "") -> str:
    """The core's markdown (Trello renders markdown as is) plus the marker, within limits."""
    tail = marker(digest)
    room = COMMENT_MAX - len(tail) - 3
    body = markdown.strip()
    if len(body) > room:
        body = body[: room - 1] + "…"
    return f"{body}\n\n{tail}"


def _stamp(text: str) -> tuple[bool, str | None]:
    for match in _MARKER.finditer(text):
        stamped, digest = read_stamp(match.group(1))
        if stamped:
            return True, digest
    return False, None


def has_marker(text: str) -> bool:
    return _stamp(text)[0]


def comment_digest(text: str) -> str | None:
    """The digest stamped in the comment's marker (None: no marker, or an unstamped one)."""
    return _stamp(text)[1]


def _text(action: dict[str, Any]) -> str:
    data = action.get("data")
    return str(data.get("text") or "") if isinstance(data, dict) else ""


def is_bridge_comment(action: dict[str, Any], bot_id: str) -> bool:
    """A `commentCard` action written by the bridge: its marker and its author."""
    return action.get("idMemberCreator") == bot_id and has_marker(_text(action))


def _card_id(action: dict[str, Any]) -> str:
    data = action.get("data")
    card = data.get("card") if isinstance(data, dict) else None
    return str(card.get("id") or "") if isinstance(card, dict) else ""


def bridge_comment_marks(actions: Iterable[dict[str, Any]], bot_id: str) -> dict[str, FoundMarks]:
    """Card id -> the bridge's comment on it, from comment actions listed newest first (the
    oldest bridge comment of a card wins: the one every earlier run edited)."""
    found: dict[str, FoundMarks] = {}
    for action in actions:
        card_id = _card_id(action)
        is_comment = action.get("type", "commentCard") == "commentCard"
        if card_id and is_comment and is_bridge_comment(action, bot_id):
            digest = comment_digest(_text(action))
            found[card_id] = FoundMarks(comment_id=str(action["id"]), comment_digest=digest)
    return found
