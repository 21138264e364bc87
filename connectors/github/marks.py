"""The bridge's marks on GitHub: the hidden stamp in its comment, the comment found again, and
the draft field's value read back as a status.

The comment's first line is an HTML comment, which GitHub never renders:
`<!-- okrbridge:<digest> task=<id> -->` (`okrbridge.marks.comment_stamp`). The bridge's comment
is the one the bridge's own account wrote (`viewerDidAuthor`, or the bot login over REST) that
carries this stamp; the 0.1 marker `<!-- okrbridge:v1 task=<id> -->` is still recognised (it
simply carries no digest).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from okrbridge.domain import FoundMarks
from okrbridge.marks import comment_stamp, read_stamp

__all__ = [
    "COMMENT_WINDOW",
    "BridgeComment",
    "bridge_comment",
    "is_stamped",
    "marker",
    "render_comment",
    "same_login",
    "stamp_of",
    "window_marks",
]

COMMENT_WINDOW = 10
"""Recent comments read with every item (`comments(last: 10)` in `fragments.graphql`)."""
_HIDDEN = re.compile(r"<!--\s*(okrbridge\S*)(?:\s+task=(\S+?))?\s*-->")


def marker(external_id: str, digest: str = "") -> str:
    """The hidden first line that identifies (and dates the meaning of) the bridge's comment."""
    return f"<!-- {comment_stamp(digest)} task={external_id} -->"


def render_comment(external_id: str, body: str, digest: str = "") -> str:
    """GitHub renders the core's markdown as is; the marker line never shows."""
    return f"{marker(external_id, digest)}\n{body.strip()}\n"


def stamp_of(body: str) -> tuple[bool, str | None]:
    """(stamped, digest) of a comment body: whether it carries the bridge's hidden stamp."""
    match = _HIDDEN.search(body)
    return (False, None) if match is None else read_stamp(match.group(1))


def is_stamped(body: str) -> bool:
    return stamp_of(body)[0]


def same_login(a: str | None, b: str | None) -> bool:
    """Logins compared as GitHub spells them in REST (`app[bot]`) and GraphQL (`app`)."""
    if not a or not b:
        return False
    return a.lower().removesuffix("[bot]") == b.lower().removesuffix("[bot]")


@dataclass(frozen=True)
class BridgeComment:
    id: str
    digest: str | None
    body: str


def bridge_comment(nodes: Iterable[Any]) -> BridgeComment | None:
    """The bridge's comment among GraphQL `CommentWindow` nodes (oldest first), if any."""
    for node in nodes:
        if not isinstance(node, dict) or not node.get("viewerDidAuthor"):
            continue
        body = str(node.get("body") or "")
        stamped, digest = stamp_of(body)
        if stamped and node.get("fullDatabaseId") is not None:
            return BridgeComment(str(node["fullDatabaseId"]), digest, body)
    return None


def window_marks(window: Any) -> FoundMarks | None:
    """Marks from an item's comment window; None when the window is cut short and does not
    show the bridge's comment (it may be older: look it up)."""
    if not isinstance(window, dict):
        return None
    found = bridge_comment(window.get("nodes") or [])
    if found is not None:
        return FoundMarks(comment_id=found.id, comment_digest=found.digest)
    if (window.get("pageInfo") or {}).get("hasPreviousPage"):
        return None
    return FoundMarks()
