"""Writing the key-result status back: one status label and one marked comment per issue/PR,
a single-select field value per draft item.

Requests per changed issue: the label swap is ONE GraphQL request (aliased
`removeLabelsFromLabelable` + `addLabelsToLabelable`, run in order), the comment one REST call
(`POST` once, then `PATCH` in place): 2 writes. The REST alternative (POST add + DELETE remove)
would make it 3. Labels the bridge does not own and comments without its marker are never
touched; the label set is never replaced wholesale (`PUT`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from connectors.github.client import GitHubClient
from connectors.github.projects import ProjectDirectory
from connectors.github.settings import GitHubSettings
from connectors.github.webhooks import MARKER_PREFIX, STATUS_SLUGS, is_bridge_label
from okrbridge.connector.base import CommentAction, CommentChange, PushChange, PushResult
from okrbridge.connector.errors import NotFound, RequestFailed
from okrbridge.domain import Task

__all__ = ["LABEL_COLOURS", "Pusher", "is_draft", "marker", "render_comment"]

LABEL_COLOURS = {
    "achieved": "0366d6",  # blue
    "on-track": "2da44e",  # green
    "needs-attention": "fbca04",  # yellow
    "off-track": "d73a4a",  # red
    "not-started": "bfbfbf",  # grey
}
MAX_LABEL_LENGTH = 50
"""GitHub refuses longer label names."""


def marker(external_id: str) -> str:
    """The hidden HTML comment that identifies the bridge's comment on a task."""
    return f"{MARKER_PREFIX} task={external_id} -->"


def render_comment(external_id: str, body: str) -> str:
    """GitHub renders the core's markdown as is; the marker line never shows."""
    return f"{marker(external_id)}\n{body.strip()}\n"


def _slug(label: str) -> str:
    return next((s for s in STATUS_SLUGS if label.endswith(s)), "")


def _option_key(name: str) -> str:
    """ "On track" -> "on-track", so option names match status slugs."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@dataclass
class _Writes:
    count: int = 0


class Pusher:
    """Applies `PushChange`s; keeps a per-repo cache of label name -> node id."""

    def __init__(
        self,
        instance: str,
        settings: GitHubSettings,
        client: GitHubClient,
        projects: ProjectDirectory,
        bot_login: Callable[[], str | None],
    ) -> None:
        self.instance = instance
        self.settings = settings
        self.client = client
        self.projects = projects
        self.bot_login = bot_login
        self._labels: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def apply(self, change: PushChange) -> PushResult:
        writes = _Writes()
        task = change.task
        comment_id = change.comment.comment_id if change.comment else None
        if is_draft(task):  # drafts have no labels or comments: only the project field
            if change.field_value is not None:
                self._set_field(task, change.field_value, writes)
            return PushResult(comment_id=None, requests=writes.count)
        repo, number = _repo_number(self.instance, task)
        if change.add_label is not None or change.remove_labels:
            self._swap_labels(change, repo, writes)
        if change.comment is not None:
            comment_id = self._comment(task, repo, number, change, writes)
        return PushResult(comment_id=comment_id, requests=writes.count)

    # -- labels -------------------------------------------------------------------------------
    def _swap_labels(self, change: PushChange, repo: str, writes: _Writes) -> None:
        present = set(change.task.labels)
        add = change.add_label
        for name in [add, *change.remove_labels]:
            if name is not None and not is_bridge_label(name):
                raise RequestFailed(self.instance, f"refusing to touch label {name!r}: not ours")
        if add is not None and add in present and not change.uncertain:
            add = None  # already there: no write
        stale = [n for n in change.remove_labels if change.uncertain or n in present]
        labels = self._repo_labels(repo) if add or stale else {}
        remove_ids = [labels[n] for n in stale if n in labels]  # absent from the repo: nothing
        add_ids = [self._ensure_label(repo, add, writes)] if add else []
        if not add_ids and not remove_ids:
            return
        self.client.graphql(
            "swap_labels",
            {
                "labelable": change.task.external_id,
                "add": add_ids,
                "remove": remove_ids,
                "doAdd": bool(add_ids),
                "doRemove": bool(remove_ids),
            },
            mutation=True,
        )
        writes.count += 1

    def _repo_labels(self, repo: str) -> dict[str, str]:
        with self._lock:
            cached = self._labels.get(repo)
        if cached is None:
            listing = self.client.get_pages(f"repos/{repo}/labels")
            cached = {str(label["name"]): str(label["node_id"]) for label in listing}
            with self._lock:
                self._labels[repo] = cached
        return cached

    def _ensure_label(self, repo: str, name: str, writes: _Writes) -> str:
        labels = self._repo_labels(repo)
        if name in labels:
            return labels[name]
        if len(name) > MAX_LABEL_LENGTH:
            raise RequestFailed(self.instance, f"label {name!r} is over 50 characters")
        body = {
            "name": name,
            "color": LABEL_COLOURS.get(_slug(name), "bfbfbf"),
            "description": "Key-result status, set by okrbridge",
        }
        try:
            created = self.client.post(f"repos/{repo}/labels", body, creates_content=True)
            writes.count += 1
        except RequestFailed as exc:
            if exc.status != 422:  # 422: created meanwhile by someone else
                raise
            with self._lock:
                self._labels.pop(repo, None)
            return self._repo_labels(repo)[name]
        labels[name] = str(created["node_id"])
        return labels[name]

    # -- the comment --------------------------------------------------------------------------
    def _comment(
        self, task: Task, repo: str, number: int, change: PushChange, writes: _Writes
    ) -> str | None:
        comment = change.comment
        assert comment is not None
        if comment.action is CommentAction.DELETE:
            self._delete_comment(task, repo, number, comment, writes)
            return None
        body = render_comment(task.external_id, comment.body)
        known = comment.comment_id
        if comment.action is CommentAction.UPDATE and known is not None:
            try:
                self.client.patch(f"repos/{repo}/issues/comments/{known}", {"body": body})
                writes.count += 1
                return known
            except NotFound:
                pass  # deleted by a person: look again, then re-create (one comment)
        look = change.uncertain or comment.action is CommentAction.UPDATE
        existing = self._find_comment(task, repo, number) if look else None
        if existing is not None:
            if existing.get("body") != body:
                self.client.patch(f"repos/{repo}/issues/comments/{existing['id']}", {"body": body})
                writes.count += 1
            return str(existing["id"])
        created = self.client.post(
            f"repos/{repo}/issues/{number}/comments", {"body": body}, creates_content=True
        )
        writes.count += 1
        return str(created["id"])

    def _delete_comment(
        self, task: Task, repo: str, number: int, comment: CommentChange, writes: _Writes
    ) -> None:
        target: dict[str, Any] | None
        if comment.comment_id is not None:
            try:
                target = self.client.get(f"repos/{repo}/issues/comments/{comment.comment_id}")
            except NotFound:
                return
        else:
            target = self._find_comment(task, repo, number)
        if not target or not self._is_ours(target, task.external_id):
            return  # never delete a comment without the bridge's marker
        try:
            self.client.delete(f"repos/{repo}/issues/comments/{target['id']}")
            writes.count += 1
        except NotFound:
            return

    def _find_comment(self, task: Task, repo: str, number: int) -> dict[str, Any] | None:
        for comment in self.client.get_pages(f"repos/{repo}/issues/{number}/comments"):
            if self._is_ours(comment, task.external_id):
                return dict(comment)
        return None

    def _is_ours(self, comment: dict[str, Any], external_id: str) -> bool:
        if marker(external_id) not in str(comment.get("body") or ""):
            return False
        bot = self.bot_login()
        author = (comment.get("user") or {}).get("login")
        return bot is None or author == bot

    # -- draft items --------------------------------------------------------------------------
    def _set_field(self, task: Task, slug: str, writes: _Writes) -> None:
        name = self.settings.kr_status_field
        project = self.projects.by_id(str(task.raw.get("project_id", "")))
        if not name or project is None or name not in project.fields:
            return  # not configured: drafts simply carry no status
        field = project.fields[name]
        ids = {"project": project.id, "item": task.external_id, "field": field.id}
        if slug == "":
            if task.fields.get(name):
                self.client.graphql("clear_item_field", ids, mutation=True)
                writes.count += 1
            return
        option = next((o for o in field.options if _option_key(o) == slug.replace("_", "-")), None)
        if option is None:
            raise RequestFailed(
                self.instance, f"field {name!r} has no option for {slug!r} (e.g. 'On track')"
            )
        if task.fields.get(name) == option:
            return
        self.client.graphql(
            "set_item_field", {**ids, "option": field.options[option]}, mutation=True
        )
        writes.count += 1


def is_draft(task: Task) -> bool:
    """A draft item: no repository, so no labels or comments."""
    return task.fields.get("item_type") == "DRAFT_ISSUE" or "#draft-" in task.key


def _repo_number(instance: str, task: Task) -> tuple[str, int]:
    repo, _, number = task.key.rpartition("#")
    if not repo or not number.isdigit():
        raise RequestFailed(instance, f"task {task.key!r} is not an issue or pull request")
    return quote(repo, safe="/"), int(number)
