"""Writing the bridge's marks on an issue: one status label and one bot comment.

A status change costs at most two writes: one label edit carrying both the `add` and the
`remove` verbs, and one in-place comment edit (its property, carrying the digest, rides along
in the same request). The two are made one after the other, never in parallel, because Jira
rate-limits writes per issue. A create first adopts a bridge comment already on the issue
(found by the read, or looked up when the read did not look), and writes nothing when that
comment already says what is wanted.
"""

from __future__ import annotations

from typing import Any

from okrbridge.connector.base import CommentAction, CommentChange, PushChange, PushResult
from okrbridge.connector.errors import NotFound, RequestFailed
from okrbridge.domain import FoundMarks, Task

from .adf import markdown_to_adf
from .client import JiraClient
from .marks import MarkFinder, OwnWrites, marker_property, property_digest, stamped_markdown

__all__ = ["JiraPusher", "validate_label"]

_MAX_LABEL = 255


def validate_label(label: str, instance: str = "") -> None:
    """Jira labels cannot contain spaces and are at most 255 characters."""
    if not label or any(ch.isspace() for ch in label) or len(label) > _MAX_LABEL:
        raise RequestFailed(
            instance,
            f"label {label!r} is not a valid Jira label (non-empty, no spaces, <= 255 chars)",
        )


class JiraPusher:
    """Applies `PushChange`s through the client, counting the writes it makes."""

    def __init__(
        self, client: JiraClient, *, instance: str, finder: MarkFinder, own: OwnWrites
    ) -> None:
        self.client = client
        self.instance = instance
        self.finder = finder
        self.own = own

    def apply(self, change: PushChange) -> PushResult:
        writes = self._labels(change)
        comment_id: str | None = None
        if change.comment is not None:
            comment_id, comment_writes = self._comment(
                change.task, change.comment, change.uncertain
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
    def _comment(
        self, task: Task, change: CommentChange, uncertain: bool
    ) -> tuple[str | None, int]:
        if change.action is CommentAction.DELETE:
            return None, self._delete(task, change.comment_id, uncertain)
        if change.action is CommentAction.UPDATE and change.comment_id and not uncertain:
            existing: FoundMarks | None = FoundMarks(comment_id=change.comment_id)
        else:
            # An update without an id: the store knew of a comment but lost its id.
            lost = change.action is CommentAction.UPDATE
            existing = self._existing(
                task, look=change.look_first or uncertain or lost, trust_marks=not uncertain
            )
            if lost and (existing is None or existing.comment_id is None):
                existing = self.finder.scan_issue(task.key)
        body = markdown_to_adf(stamped_markdown(change.body))
        properties = [marker_property(change.digest)]
        if existing is None or existing.comment_id is None:
            return self._create(task, body, properties, change.digest), 1
        if change.digest and existing.comment_digest == change.digest:
            return existing.comment_id, 0  # adopted as it is: it already says this
        try:
            self.client.update_comment(task.key, existing.comment_id, body, properties)
        except NotFound:  # a person deleted it: put exactly one back
            return self._create(task, body, properties, change.digest), 2
        self.own.wrote(task.external_id, existing.comment_id, change.digest)
        return existing.comment_id, 1

    def _existing(self, task: Task, *, look: bool, trust_marks: bool = True) -> FoundMarks | None:
        """The bridge's comment already on the issue: from the task's marks when its read
        looked (and no earlier attempt may have written since), else looked up in the tool."""
        if not look:
            return None
        if task.marks is not None and trust_marks:
            return task.marks
        return self.finder.scan_issue(task.key)

    def _create(
        self, task: Task, body: dict[str, Any], properties: list[dict[str, Any]], digest: str
    ) -> str:
        created = self.client.create_comment(task.key, body, properties)
        comment_id = str(created["id"])
        self.own.wrote(task.external_id, comment_id, digest)
        return comment_id

    def _delete(self, task: Task, comment_id: str | None, uncertain: bool) -> int:
        if comment_id is None:
            found = self._existing(task, look=True, trust_marks=not uncertain)
            comment_id = found.comment_id if found is not None else None
        if comment_id is None:
            return 0
        try:
            comment = self.client.get_comment(task.key, comment_id)
        except NotFound:
            return 0
        if not property_digest(comment)[0]:
            return 0  # never delete a comment the bridge cannot prove is its own
        self.own.wrote(task.external_id, None, None)
        try:
            self.client.delete_comment(task.key, comment_id)
        except NotFound:
            return 1
        return 1
