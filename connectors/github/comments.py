"""Finding the bridge's comment on one issue or pull request, over GraphQL.

The pull reads each item's last comments (`COMMENT_WINDOW`); only when that window is full and
does not show the bridge's comment, or when a write must look before creating, are the older
comments paged here, newest first, 100 at a time (1 point per page).
"""

from __future__ import annotations

from connectors.github.client import GitHubClient
from connectors.github.marks import BridgeComment, bridge_comment
from connectors.github.normalize import is_draft
from okrbridge.connector.pagination import TokenPaginator
from okrbridge.domain import FoundMarks, Task

__all__ = ["CommentFinder"]


class CommentFinder:
    def __init__(self, instance: str, client: GitHubClient) -> None:
        self.instance = instance
        self.client = client

    def find(self, content_id: str) -> BridgeComment | None:
        """The bridge's comment on an issue or pull request (by node id), if it has one."""
        pages = TokenPaginator(instance=self.instance)
        while pages.has_more:
            data = self.client.graphql(
                "issue_comments", {"id": content_id, "before": pages.next_token}
            )
            window = (data.get("node") or {}).get("comments") or {}
            found = bridge_comment(window.get("nodes") or [])
            if found is not None:
                return found
            info = window.get("pageInfo") or {}
            pages.advance(info.get("startCursor"), not info.get("hasPreviousPage"))
        return None

    def complete(self, tasks: list[Task]) -> list[Task]:
        """`tasks` with the marks their read could not tell looked up (issues and pull
        requests with more recent comments than the pull's window)."""
        out = []
        for task in tasks:
            if task.marks is None and not is_draft(task):
                found = self.find(task.external_id)
                marks = FoundMarks(
                    comment_id=found.id if found else None,
                    comment_digest=found.digest if found else None,
                )
                task = task.model_copy(update={"marks": marks})
            out.append(task)
        return out
