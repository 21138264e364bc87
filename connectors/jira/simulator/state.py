"""In-memory Jira site: projects, issues, comments with properties, users and fields.

Every mutation happens under one lock and returns the webhook deliveries it causes; the caller
emits them after releasing the lock (a sink may call back into the simulator).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["STATUSES", "SimIssue", "SimState", "SimUser", "StoredComment"]

STATUSES: dict[str, dict[str, Any]] = {
    "To Do": {"id": "10000", "category": ("new", 2, "To Do", "blue-gray")},
    "In Progress": {"id": "3", "category": ("indeterminate", 4, "In Progress", "yellow")},
    "Done": {"id": "10001", "category": ("done", 3, "Done", "green")},
}
"""Status name -> id and category (key, id, name, colour), as in a default Jira workflow."""


@dataclass(frozen=True)
class SimUser:
    account_id: str
    display_name: str
    email: str
    time_zone: str = "Europe/Berlin"


@dataclass
class StoredComment:
    id: int
    body: Any
    """ADF document (v3) as sent."""
    author: str
    update_author: str
    created: int
    updated: int
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class SimIssue:
    id: int
    key: str
    project: str
    summary: str
    status: str = "To Do"
    labels: list[str] = field(default_factory=list)
    assignee: str | None = None
    parent: str | None = None
    duedate: str | None = None
    issuetype: str = "Task"
    priority: str = "Medium"
    resolution: str | None = None
    created: int = 0
    updated: int = 0
    custom: dict[str, Any] = field(default_factory=dict)
    comments: list[StoredComment] = field(default_factory=list)

    def jql_view(self, users: dict[str, SimUser]) -> dict[str, Any]:
        """What the JQL evaluator reads."""
        category = STATUSES[self.status]["category"]
        user = users.get(self.assignee or "")
        return {
            "project": self.project,
            "key": self.key,
            "id": str(self.id),
            "labels": list(self.labels),
            "status": self.status,
            "statuscategory": [category[2], category[0]],
            "assignee": [user.account_id, user.display_name] if user else None,
            "parent": self.parent,
            "issuetype": self.issuetype,
            "updated": self.updated,
            "created": self.created,
        }


class SimState:
    """The site's data. `version` grows with every change (search caches key on it)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.issues: dict[int, SimIssue] = {}
        self.by_key: dict[str, int] = {}
        self.project_counters: dict[str, int] = {}
        self.users: dict[str, SimUser] = {}
        self.custom_fields: dict[str, str] = {"customfield_10016": "Story Points"}
        """Custom field id -> name."""
        self.version = 0
        self.index_lag_ms = 0
        """How long the search index takes to see a change (0: at once)."""
        self._indexed: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        self._next_issue = 10000
        self._next_comment = 10000
        self._last_ms = 0

    # -- clocks and ids -------------------------------------------------------------------------
    def now_ms(self) -> int:
        """Wall-clock milliseconds, always moving on (two changes never share a time)."""
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        return self._last_ms

    def touch(self, issue: SimIssue) -> None:
        issue.updated = self.now_ms()
        self.version += 1
        self._index(issue)

    # -- the search index ---------------------------------------------------------------------
    def set_index_lag(self, millis: int) -> None:
        """Make the search see changes `millis` late (what is there now is indexed)."""
        self.index_lag_ms = millis
        self._indexed = {i.id: [(0, i.jql_view(self.users))] for i in self.issues.values()}

    def _index(self, issue: SimIssue) -> None:
        if self.index_lag_ms > 0:
            ready = int(time.time() * 1000) + self.index_lag_ms
            history = self._indexed.setdefault(issue.id, [])
            history.append((ready, issue.jql_view(self.users)))

    def search_view(self, issue: SimIssue, *, fresh: bool = False) -> dict[str, Any] | None:
        """The issue as the search index sees it now (None: not indexed yet); `fresh` asks for
        read-after-write consistency (`reconcileIssues`)."""
        if self.index_lag_ms <= 0 or fresh:
            return issue.jql_view(self.users)
        now = int(time.time() * 1000)
        history = self._indexed.get(issue.id, [])
        ready = [view for at, view in history if at <= now]
        if len(ready) > 1:
            self._indexed[issue.id] = [(0, ready[-1]), *((a, v) for a, v in history if a > now)]
        return ready[-1] if ready else None

    def new_issue(self, project: str, summary: str) -> SimIssue:
        number = self.project_counters.get(project, 0) + 1
        self.project_counters[project] = number
        self._next_issue += 1
        now = self.now_ms()
        issue = SimIssue(
            id=self._next_issue,
            key=f"{project}-{number}",
            project=project,
            summary=summary,
            created=now,
            updated=now,
        )
        self.issues[issue.id] = issue
        self.by_key[issue.key] = issue.id
        self.version += 1
        self._index(issue)
        return issue

    def new_comment(
        self, issue: SimIssue, body: Any, author: str, props: dict[str, Any]
    ) -> StoredComment:
        self._next_comment += 1
        now = self.now_ms()
        comment = StoredComment(self._next_comment, body, author, author, now, now, dict(props))
        issue.comments.append(comment)
        issue.updated = now  # a comment updates its issue, at the comment's time
        self.version += 1
        self._index(issue)
        return comment

    def comment(self, comment_id: str) -> tuple[SimIssue, StoredComment] | None:
        """A comment by id, from any issue."""
        for issue in self.issues.values():
            for comment in issue.comments:
                if str(comment.id) == comment_id:
                    return issue, comment
        return None

    def remove(self, issue: SimIssue) -> None:
        del self.issues[issue.id]
        self.by_key.pop(issue.key, None)
        self.version += 1

    # -- lookups --------------------------------------------------------------------------------
    def find(self, id_or_key: str) -> SimIssue | None:
        if id_or_key.isdigit():
            return self.issues.get(int(id_or_key))
        issue_id = self.by_key.get(id_or_key.upper())
        return self.issues.get(issue_id) if issue_id is not None else None

    def user(self, account_id: str | None) -> SimUser | None:
        return self.users.get(account_id or "")

    def user_named(self, name: str) -> SimUser:
        """The user with this display name, created on first use."""
        for user in self.users.values():
            if user.display_name == name:
                return user
        slug = "".join(ch for ch in name.lower() if ch.isalnum()) or "user"
        user = SimUser(f"557058:{slug}-{len(self.users) + 1:04d}", name, f"{slug}@example.com")
        self.users[user.account_id] = user
        return user

    def custom_field(self, name: str) -> str:
        """Id of the custom field with this name, created on first use."""
        for field_id, field_name in self.custom_fields.items():
            if field_name.casefold() == name.casefold():
                return field_id
        field_id = f"customfield_{10100 + len(self.custom_fields)}"
        self.custom_fields[field_id] = name
        return field_id
