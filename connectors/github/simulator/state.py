"""In-memory GitHub: repositories, issues, labels, comments, one owner's projects and items.

Every change goes through a method of `SimState` under its lock and returns the webhook
deliveries it causes (event name, payload), which the handle signs and emits outside the lock.
Timestamps come from a logical clock that moves at least one second per change, so two changes
never share an `updatedAt` (GitHub's resolution is one second).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.github.simulator.payloads import build

__all__ = ["Comment", "Delivery", "Issue", "Item", "Label", "Project", "SimState"]

Delivery = tuple[str, dict[str, Any]]
"""(X-GitHub-Event, payload)"""

STATUS_OPTIONS = ("Todo", "In Progress", "Done")
KR_OPTIONS = ("Achieved", "On track", "Needs attention", "Off track", "Not started")


@dataclass
class Label:
    id: int
    node_id: str
    name: str
    color: str
    description: str = ""

    def rest(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "node_id": self.node_id,
            "name": self.name,
            "color": self.color,
            "description": self.description,
            "default": False,
        }


@dataclass
class Comment:
    id: int
    node_id: str
    body: str
    author: str
    created: datetime
    updated: datetime


@dataclass
class Issue:
    node_id: str
    db_id: int
    repo: str
    number: int
    title: str
    updated: datetime
    is_pr: bool = False
    state: str = "OPEN"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)


@dataclass
class Draft:
    node_id: str
    title: str
    updated: datetime
    assignees: list[str] = field(default_factory=list)


@dataclass
class ProjectField:
    id: str
    name: str
    data_type: str
    options: dict[str, str] = field(default_factory=dict)
    """Option name -> option id (single-select)."""


@dataclass
class Item:
    id: str
    db_id: int
    project: Project
    content_id: str
    updated: datetime
    values: dict[str, str] = field(default_factory=dict)
    """Field name -> value as text (option name, number, iteration title)."""
    archived: bool = False


@dataclass
class Project:
    id: str
    number: int
    title: str
    url: str
    fields: dict[str, ProjectField]
    items: list[Item] = field(default_factory=list)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class SimState:
    """The simulated GitHub, thread-safe through `lock` (held by every public method)."""

    def __init__(
        self, owner: str = "acme", owner_type: str = "organization", bot: str = "okr-bot"
    ) -> None:
        self.lock = threading.RLock()
        self.owner = owner
        self.owner_type = owner_type
        self.bot = bot
        self.web = "https://github.com"
        self._ids = itertools.count(1001)
        self._now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self.repos: dict[str, dict[str, Label]] = {}
        self.issues: dict[str, Issue] = {}
        self.drafts: dict[str, Draft] = {}
        self.items: dict[str, Item] = {}
        self.projects: dict[int, Project] = {}
        self.comments: dict[int, Issue] = {}
        self.add_project(1, "Roadmap")

    # -- helpers ------------------------------------------------------------------------------
    def tick(self) -> datetime:
        """Logical now: real time, but at least a second after the previous change."""
        self._now = max(datetime.now(UTC).replace(microsecond=0), self._now + timedelta(seconds=1))
        return self._now

    def next_id(self) -> int:
        return next(self._ids)

    def node(self, prefix: str) -> str:
        return f"{prefix}_kwDO{self.next_id():08d}"

    def add_project(self, number: int, title: str) -> Project:
        with self.lock:
            fields = {
                "Status": self._select("Status", STATUS_OPTIONS),
                "Estimate": ProjectField(self.node("PVTF"), "Estimate", "NUMBER"),
                "Iteration": ProjectField(self.node("PVTIF"), "Iteration", "ITERATION"),
                "OKR status": self._select("OKR status", KR_OPTIONS),
            }
            kind = "orgs" if self.owner_type == "organization" else "users"
            url = f"{self.web}/{kind}/{self.owner}/projects/{number}"
            project = Project(self.node("PVT"), number, title, url, fields)
            self.projects[number] = project
            return project

    def _select(self, name: str, options: tuple[str, ...]) -> ProjectField:
        ids = {option: f"{self.next_id():x}" for option in options}
        return ProjectField(self.node("PVTSSF"), name, "SINGLE_SELECT", ids)

    def repo_labels(self, repo: str) -> dict[str, Label]:
        return self.repos.setdefault(repo, {})

    def content(self, content_id: str) -> Issue | Draft | None:
        return self.issues.get(content_id) or self.drafts.get(content_id)

    def issue_by_number(self, repo: str, number: int) -> Issue | None:
        return next(
            (i for i in self.issues.values() if i.repo == repo and i.number == number), None
        )

    def items_of(self, content_id: str) -> list[Item]:
        return [i for i in self.items.values() if i.content_id == content_id]

    # -- creating -----------------------------------------------------------------------------
    def create_issue(self, repo: str, title: str, *, is_pr: bool = False) -> Issue:
        with self.lock:
            self.repo_labels(repo)
            number = 1 + max((i.number for i in self.issues.values() if i.repo == repo), default=0)
            node = self.node("PR" if is_pr else "I")
            issue = Issue(node, self.next_id(), repo, number, title, self.tick(), is_pr=is_pr)
            self.issues[node] = issue
            return issue

    def create_draft(self, title: str) -> Draft:
        with self.lock:
            draft = Draft(self.node("DI"), title, self.tick())
            self.drafts[draft.node_id] = draft
            return draft

    def add_item(self, number: int, content_id: str) -> Item:
        with self.lock:
            project = self.projects[number]
            item = Item(self.node("PVTI"), self.next_id(), project, content_id, self.tick())
            project.items.append(item)
            self.items[item.id] = item
            return item

    def ensure_label(self, repo: str, name: str, color: str = "ededed") -> Label:
        with self.lock:
            labels = self.repo_labels(repo)
            if name not in labels:
                labels[name] = Label(self.next_id(), self.node("LA"), name, color)
            return labels[name]

    # -- changing -----------------------------------------------------------------------------
    def add_labels(self, issue: Issue, names: list[str], actor: str) -> list[Delivery]:
        with self.lock:
            out = []
            for name in names:
                label = self.ensure_label(issue.repo, name)
                if name not in issue.labels:
                    issue.labels.append(name)
                    issue.updated = self.tick()
                    out.append(self._issue_event("labeled", issue, actor, label=label.rest()))
            return out

    def remove_labels(self, issue: Issue, names: list[str], actor: str) -> list[Delivery]:
        with self.lock:
            out = []
            for name in names:
                if name in issue.labels:
                    issue.labels.remove(name)
                    issue.updated = self.tick()
                    label = self.repo_labels(issue.repo)[name].rest()
                    out.append(self._issue_event("unlabeled", issue, actor, label=label))
            return out

    def add_comment(self, issue: Issue, body: str, actor: str) -> tuple[Comment, list[Delivery]]:
        with self.lock:
            now = self.tick()
            comment = Comment(self.next_id(), self.node("IC"), body, actor, now, now)
            issue.comments.append(comment)
            issue.updated = now
            self.comments[comment.id] = issue
            return comment, [self._comment_event("created", issue, comment, actor)]

    def edit_comment(
        self, comment_id: int, body: str, actor: str
    ) -> tuple[Comment, list[Delivery]]:
        with self.lock:
            issue = self.comments[comment_id]
            comment = next(c for c in issue.comments if c.id == comment_id)
            comment.body = body
            comment.updated = self.tick()
            return comment, [self._comment_event("edited", issue, comment, actor)]

    def delete_comment(self, comment_id: int, actor: str) -> list[Delivery]:
        with self.lock:
            issue = self.comments.pop(comment_id)
            comment = next(c for c in issue.comments if c.id == comment_id)
            issue.comments.remove(comment)
            return [self._comment_event("deleted", issue, comment, actor)]

    def set_value(
        self, item: Item, field_name: str, value: str | None, actor: str
    ) -> list[Delivery]:
        with self.lock:
            if value is None:
                item.values.pop(field_name, None)
            else:
                item.values[field_name] = value
            item.updated = self.tick()
            return self._item_event("edited", item, actor, field=item.project.fields[field_name])

    def remove_item(self, item: Item, actor: str) -> list[Delivery]:
        with self.lock:
            item.project.items.remove(item)
            del self.items[item.id]
            return self._item_event("deleted", item, actor)

    # -- webhook payloads ---------------------------------------------------------------------
    def user(self, login: str) -> dict[str, Any]:
        kind = "Bot" if login.endswith("[bot]") else "User"
        return {"login": login, "id": abs(hash(login)) % 10**8, "type": kind}

    def issue_rest(self, issue: Issue) -> dict[str, Any]:
        labels = self.repo_labels(issue.repo)
        out: dict[str, Any] = {
            "id": issue.db_id,
            "node_id": issue.node_id,
            "number": issue.number,
            "title": issue.title,
            "state": issue.state.lower(),
            "state_reason": issue.state_reason and issue.state_reason.lower(),
            "labels": [labels[n].rest() for n in issue.labels],
            "assignees": [self.user(a) for a in issue.assignees],
            "html_url": f"{self.web}/{issue.repo}/issues/{issue.number}",
            "updated_at": iso(issue.updated),
            "user": self.user("octocat"),
        }
        if issue.is_pr:
            out["pull_request"] = {"url": f"{self.web}/{issue.repo}/pull/{issue.number}"}
        return out

    def comment_rest(self, issue: Issue, comment: Comment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "node_id": comment.node_id,
            "body": comment.body,
            "user": self.user(comment.author),
            "html_url": f"{self.web}/{issue.repo}/issues/{issue.number}#issuecomment-{comment.id}",
            "created_at": iso(comment.created),
            "updated_at": iso(comment.updated),
        }

    def _repository(self, repo: str) -> dict[str, Any]:
        owner, _, name = repo.partition("/")
        return {"full_name": repo, "name": name, "owner": self.user(owner)}

    def _organization(self) -> dict[str, Any] | None:
        return {"login": self.owner} if self.owner_type == "organization" else None

    def _issue_event(self, action: str, issue: Issue, actor: str, **extra: Any) -> Delivery:
        payload = build(
            "issues",
            action,
            issue=self._issue_payload(issue),
            repository=self._repository(issue.repo),
            sender=self.user(actor),
            organization=self._organization(),
            **extra,
        )
        return "issues", _own_kind(payload, issue)

    def _issue_payload(self, issue: Issue) -> dict[str, Any]:
        return self.issue_rest(issue)

    def _comment_event(self, action: str, issue: Issue, comment: Comment, actor: str) -> Delivery:
        payload = build(
            "issue_comment",
            action,
            issue=self._issue_payload(issue),
            comment=self.comment_rest(issue, comment),
            repository=self._repository(issue.repo),
            sender=self.user(actor),
            organization=self._organization(),
            changes={} if action == "edited" else None,
        )
        return "issue_comment", _own_kind(payload, issue)

    def _item_event(
        self, action: str, item: Item, actor: str, field: ProjectField | None = None
    ) -> list[Delivery]:
        if self.owner_type != "organization":
            return []  # GitHub sends project item events for organization projects only
        content = self.content(item.content_id)
        kind = "DraftIssue" if isinstance(content, Draft) else "Issue"
        if isinstance(content, Issue) and content.is_pr:
            kind = "PullRequest"
        changes = None
        if field is not None:
            field_type = field.data_type.lower()
            changes = {"field_value": {"field_node_id": field.id, "field_type": field_type}}
        payload = build(
            "projects_v2_item",
            action,
            projects_v2_item={
                "id": item.db_id,
                "node_id": item.id,
                "project_node_id": item.project.id,
                "content_node_id": item.content_id,
                "content_type": kind,
                "creator": self.user("octocat"),
                "created_at": iso(item.updated),
                "updated_at": iso(item.updated),
                "archived_at": None,
            },
            organization=self._organization(),
            sender=self.user(actor),
            changes=changes,
        )
        return [("projects_v2_item", payload)]


def _own_kind(payload: dict[str, Any], issue: Issue) -> dict[str, Any]:
    """An issue's payload never keeps a `pull_request` key from the example it was built on."""
    if not issue.is_pr:
        payload["issue"].pop("pull_request", None)
    return payload
