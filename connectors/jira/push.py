"""Writing the bridge's marks on an issue: one status label and one bot comment.

A status change costs at most two writes: one label edit carrying both the `add` and the
`remove` verbs, and one in-place comment edit. The two are made one after the other, never in
parallel, because Jira rate-limits writes per issue.
"""

from __future__ import annotations

from typing import Any

from okrbridge.connector.base import CommentAction, CommentChange, PushChange, PushResult
from okrbridge.connector.errors import NotFound, RequestFailed

from .adf import markdown_to_adf
from .client import JiraClient

__all__ = ["MARKER_KEY", "MARKER_PROPERTY", "JiraPusher", "is_marked", "validate_label"]

MARKER_KEY = "okrbridge"
"""Comment entity property that marks the bridge's own comment (invisible to people)."""
MARKER_PROPERTY: dict[str, Any] = {"key": MARKER_KEY, "value": {"v": 1}}
_MAX_LABEL = 255


def is_marked(comment: dict[str, Any]) -> bool:
    """Whether a comment (read with `expand=properties`) carries the bridge's marker."""
    properties = comment.get("properties") or ()
    return any(isinstance(p, dict) and p.get("key") == MARKER_KEY for p in properties)


def validate_label(label: str, instance: str = "") -> None:
    """Jira labels cannot contain spaces and are at most 255 characters."""
    if not label or any(ch.isspace() for ch in label) or len(label) > _MAX_LABEL:
        raise RequestFailed(
            instance,
            f"label {label!r} is not a valid Jira label (non-empty, no spaces, <= 255 chars)",
        )


class JiraPusher:
    """Applies `PushChange`s through the client, counting the writes it makes."""

    def __init__(self, client: JiraClient, *, instance: str) -> None:
        self.client = client
        self.instance = instance

    def apply(self, change: PushChange) -> PushResult:
        writes = self._labels(change)
        comment_id: str | None = None
        if change.comment is not None:
            comment_id, comment_writes = self._comment(
                change.task.key, change.comment, change.uncertain
            )
            writes += comment_writes
        return PushResult(comment_id=comment_id, requests=writes)

    # -- labels -------------------------------------------------------------------------------
    def _labels(self, change: PushChange) -> int:
        wanted = [change.add_label] if change.add_label else []
        for label in (*wanted, *change.remove_labels):
            validate_label(label, self.instance)
        current = set(change.task.labels)
        add = [label for label in wanted if label not in current]
        stale = [label for label in change.remove_labels if label != change.add_label]
        if not add and not any(label in current for label in stale):
            return 0  # already as desired: no write
        # Removing an absent label is a no-op in Jira, so the verbs can ride along safely.
        self.client.edit_labels(change.task.key, add, stale)
        return 1

    # -- the bot comment ----------------------------------------------------------------------
    def _comment(self, key: str, change: CommentChange, uncertain: bool) -> tuple[str | None, int]:
        if change.action is CommentAction.DELETE:
            return None, self._delete(key, change.comment_id)
        body = markdown_to_adf(change.body)
        comment_id = change.comment_id
        if comment_id is None and (uncertain or change.action is CommentAction.UPDATE):
            # The store lost the id, or a create may have gone through: look before creating.
            comment_id = self.find_marked(key)
        elif change.action is CommentAction.CREATE and uncertain:
            comment_id = self.find_marked(key) or comment_id
        if comment_id is None:
            return self._create(key, body), 1
        try:
            self.client.update_comment(key, comment_id, body)
        except NotFound:
            return self._create(key, body), 2  # a person deleted it: put exactly one back
        return comment_id, 1

    def _create(self, key: str, body: dict[str, Any]) -> str:
        created = self.client.create_comment(key, body, [MARKER_PROPERTY])
        return str(created["id"])

    def _delete(self, key: str, comment_id: str | None) -> int:
        try:
            comment = (
                self.client.get_comment(key, comment_id)
                if comment_id
                else self._find_marked_comment(key)
            )
        except NotFound:
            return 0
        if comment is None or not is_marked(comment):
            return 0  # never delete a comment the bridge cannot prove is its own
        try:
            self.client.delete_comment(key, str(comment["id"]))
        except NotFound:
            return 1
        return 1

    def find_marked(self, key: str) -> str | None:
        """Id of the bridge's marked comment on `key`, if any (the oldest one)."""
        comment = self._find_marked_comment(key)
        return str(comment["id"]) if comment else None

    def _find_marked_comment(self, key: str) -> dict[str, Any] | None:
        return next((c for c in self.client.iter_comments(key) if is_marked(c)), None)
