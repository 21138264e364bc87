"""The bridge's comment on a Jira issue: how it is marked, and how a read finds it again.

The comment carries two marks. Its body carries the stamp word (`okrbridge`, in the core's
footer; added when a custom template leaves it out), so a bulk read of issues with their
embedded comments can pick out candidates: comments by the bridge's account or with the
stamp. Its entity property `okrbridge` = `{"v": 2, "digest": ...}` is invisible to people and
confirms it (a person may quote the word; nobody sets properties by hand); the digest says
what the comment meant when the bridge last wrote it. Properties are not embedded in issue
reads, so candidates are confirmed in bulk with `POST /comment/list?expand=properties`.
Comments written by 0.1 carry `{"v": 1}`: the bridge's, with no digest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from okrbridge.domain import FoundMarks
from okrbridge.marks import STAMP_NAME, comment_stamp, read_stamp

from .adf import adf_text
from .client import COMMENT_LIST_MAX, JiraClient

__all__ = [
    "PROPERTY_KEY",
    "MarkFinder",
    "OwnWrites",
    "embedded_comments",
    "marker_property",
    "property_digest",
    "stamped_markdown",
]

PROPERTY_KEY = STAMP_NAME
"""Key of the comment entity property that marks the bridge's comment."""


def marker_property(digest: str) -> dict[str, Any]:
    """The property written with every create and edit of the bridge's comment."""
    value: dict[str, Any] = {"v": 2}
    if digest:
        value["digest"] = digest
    return {"key": PROPERTY_KEY, "value": value}


def property_digest(comment: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(marked, digest) from a comment read with `expand=properties`."""
    for prop in comment.get("properties") or ():
        if isinstance(prop, dict) and prop.get("key") == PROPERTY_KEY:
            value = prop.get("value")
            digest = value.get("digest") if isinstance(value, dict) else None
            return True, digest if isinstance(digest, str) and digest else None
    return False, None


def stamped_markdown(markdown: str) -> str:
    """The comment text with the stamp word in it (the core's footer already has it)."""
    if read_stamp(markdown)[0]:
        return markdown
    return f"{markdown.rstrip()}\n\n_{comment_stamp()}_"


def embedded_comments(issue: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The comments embedded in an issue read with `fields=comment`, and whether they are all
    of them (search and bulkfetch cap the embedded list; `total` says how many there are)."""
    fields = issue.get("fields")
    block = fields.get("comment") if isinstance(fields, dict) else None
    if not isinstance(block, dict):
        return [], False
    comments = [c for c in block.get("comments") or () if isinstance(c, dict)]
    total = block.get("total")
    complete = not isinstance(total, int) or isinstance(total, bool) or total <= len(comments)
    return comments, complete


def _authors(comment: Mapping[str, Any]) -> set[str]:
    author = comment.get("author")
    if not isinstance(author, dict):
        return set()
    return {str(author[k]) for k in ("accountId", "key", "name") if author.get(k)}


class OwnWrites:
    """What this process last wrote as the bridge's comment per issue (id and digest), so the
    next read of an issue it just wrote needs no property lookup."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_issue: dict[str, tuple[str, str | None]] = {}

    def wrote(self, issue_id: str, comment_id: str | None, digest: str | None) -> None:
        with self._lock:
            if comment_id is None:
                self._by_issue.pop(issue_id, None)
            else:
                self._by_issue[issue_id] = (comment_id, digest or None)

    def get(self, issue_id: str) -> tuple[str, str | None] | None:
        with self._lock:
            return self._by_issue.get(issue_id)


@dataclass
class MarkFinder:
    """Finds the bridge's comment on issues read with their embedded comments."""

    client: JiraClient
    bot_account: Callable[[], str | None]
    """The bridge's account id when already known (never a lookup on the read path)."""
    own: OwnWrites

    def marks(self, issues: Sequence[Mapping[str, Any]]) -> dict[str, FoundMarks]:
        """`FoundMarks` by issue id for every issue given."""
        bot = self.bot_account()
        found: dict[str, FoundMarks] = {}
        to_confirm: dict[str, list[str]] = {}  # issue id -> candidate comment ids, oldest first
        incomplete: dict[str, str] = {}  # issue id -> key, when the embedded list is capped
        for issue in issues:
            issue_id = str(issue.get("id"))
            comments, complete = embedded_comments(issue)
            ids = [str(c.get("id")) for c in comments if self._candidate(c, bot)]
            mine = self.own.get(issue_id)
            if mine is not None and mine[0] in ids:
                found[issue_id] = FoundMarks(comment_id=mine[0], comment_digest=mine[1])
            elif ids:
                to_confirm[issue_id] = ids
            elif complete:
                found[issue_id] = FoundMarks()
            if not complete and issue_id not in found:
                incomplete[issue_id] = str(issue.get("key") or issue_id)
        confirmed = self._confirm([c for ids in to_confirm.values() for c in ids], bot)
        for issue_id, ids in to_confirm.items():
            hit = next((c for c in ids if c in confirmed), None)
            if hit is not None:
                found[issue_id] = FoundMarks(comment_id=hit, comment_digest=confirmed[hit])
            elif issue_id not in incomplete:
                found[issue_id] = FoundMarks()
        for issue_id, key in incomplete.items():
            if issue_id not in found:
                found[issue_id] = self.scan_issue(key)
        return found

    def scan_issue(self, key: str) -> FoundMarks:
        """Page through every comment of one issue (properties included) for the bridge's."""
        bot = self.bot_account()
        for comment in self.client.iter_comments(key):
            marked, digest = property_digest(comment)
            if marked and self._by_bridge(comment, bot):
                return FoundMarks(comment_id=str(comment.get("id")), comment_digest=digest)
        return FoundMarks()

    def _candidate(self, comment: Mapping[str, Any], bot: str | None) -> bool:
        if bot is not None and bot in _authors(comment):
            return True
        return read_stamp(adf_text(comment.get("body")))[0]

    def _confirm(self, comment_ids: Iterable[str], bot: str | None) -> dict[str, str | None]:
        """Candidate id -> digest, for the candidates whose property marks them."""
        ids = list(comment_ids)
        confirmed: dict[str, str | None] = {}
        for start in range(0, len(ids), COMMENT_LIST_MAX):
            for comment in self.client.comments_by_ids(ids[start : start + COMMENT_LIST_MAX]):
                marked, digest = property_digest(comment)
                if marked and self._by_bridge(comment, bot):
                    confirmed[str(comment.get("id"))] = digest
        return confirmed

    @staticmethod
    def _by_bridge(comment: Mapping[str, Any], bot: str | None) -> bool:
        """Written by the bridge's account, when that account is known (else the property
        alone decides: only the bridge sets it)."""
        return bot is None or not _authors(comment) or bot in _authors(comment)
