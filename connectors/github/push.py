"""Writing the key-result status back: one status label and one stamped comment per issue/PR,
a single-select field value per draft item.

Requests per changed issue: the label swap is ONE GraphQL request (aliased
`removeLabelsFromLabelable` + `addLabelsToLabelable`, run in order), the comment one REST call
(`POST` once, then `PATCH` in place): 2 writes. The REST alternative (POST add + DELETE remove)
would make it 3. Labels the bridge does not own and comments without its stamp are never
touched; the label set is never replaced wholesale (`PUT`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from connectors.github.client import GitHubClient
from connectors.github.comments import CommentFinder
from connectors.github.marks import BridgeComment, is_stamped, render_comment, same_login
from connectors.github.normalize import is_draft
from connectors.github.projects import ProjectDirectory
from connectors.github.settings import GitHubSettings
from connectors.github.status_field import StatusOptions
from okrbridge.connector.base import CommentAction, CommentChange, PushChange, PushResult
from okrbridge.connector.errors import NotFound, RequestFailed
from okrbridge.domain import KRStatus, Task
from okrbridge.marks import StatusLabels

__all__ = ["LABEL_COLOURS", "LABEL_DESCRIPTION", "MAX_LABEL_LENGTH", "Pusher", "is_draft"]

LABEL_COLOURS = {
    KRStatus.ACHIEVED: "0366d6",  # blue
    KRStatus.ON_TRACK: "2da44e",  # green
    KRStatus.NEEDS_ATTENTION: "fbca04",  # yellow
    KRStatus.OFF_TRACK: "d73a4a",  # red
    KRStatus.NOT_STARTED: "bfbfbf",  # grey
}
LABEL_DESCRIPTION = "Key-result status, set by okrbridge"
"""Written on the label definitions the bridge creates: cleanup deletes only those."""
MAX_LABEL_LENGTH = 50
"""GitHub refuses longer label names."""


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
        labels: StatusLabels,
    ) -> None:
        self.instance = instance
        self.settings = settings
        self.client = client
        self.projects = projects
        self.bot_login = bot_login
        self.labels = labels
        self.options = StatusOptions(settings)
        self.comments = CommentFinder(instance, client)
        self._repo_cache: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def apply(self, change: PushChange) -> PushResult:
        writes = _Writes()
        task = change.task
        comment_id = change.comment.comment_id if change.comment else None
        if is_draft(task):  # drafts have no labels or comments: only the project field
            if change.field_value is not None:
                self._set_field(change, writes)
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
            if name is not None and not self.labels.owns(name):
                raise RequestFailed(self.instance, f"refusing to touch label {name!r}: not ours")
        if add is not None and add in present and not change.uncertain:
            add = None  # already there: no write
        stale = [n for n in change.remove_labels if change.uncertain or n in present]
        labels = self._repo_labels(repo) if add or stale else {}
        remove_ids = [labels[n] for n in stale if n in labels]  # absent from the repo: nothing
        add_ids = [self._ensure_label(repo, add, writes)] if add else []
        if not add_ids and not remove_ids:
            return
        # Three documents instead of one with @include branches: each sends only what runs.
        operation = (
            "swap_labels"
            if add_ids and remove_ids
            else ("add_labels" if add_ids else "remove_labels")
        )
        variables: dict[str, Any] = {"labelable": change.task.external_id}
        if add_ids:
            variables["add"] = add_ids
        if remove_ids:
            variables["remove"] = remove_ids
        self.client.graphql(operation, variables, mutation=True)
        writes.count += 1

    def _repo_labels(self, repo: str) -> dict[str, str]:
        with self._lock:
            cached = self._repo_cache.get(repo)
        if cached is None:
            listing = self.client.get_pages(f"repos/{repo}/labels")
            cached = {str(label["name"]): str(label["node_id"]) for label in listing}
            with self._lock:
                self._repo_cache[repo] = cached
        return cached

    def forget_repo(self, repo: str) -> None:
        with self._lock:
            self._repo_cache.pop(repo, None)

    def _ensure_label(self, repo: str, name: str, writes: _Writes) -> str:
        labels = self._repo_labels(repo)
        if name in labels:
            return labels[name]
        if len(name) > MAX_LABEL_LENGTH:
            raise RequestFailed(
                self.instance, f"label {name!r} is over GitHub's {MAX_LABEL_LENGTH} characters"
            )
        status = self.labels.status_of(name)
        body = {
            "name": name,
            "color": LABEL_COLOURS[status] if status else "bfbfbf",
            "description": LABEL_DESCRIPTION,
        }
        try:
            created = self.client.post(f"repos/{repo}/labels", body, creates_content=True)
            writes.count += 1
        except RequestFailed as exc:
            if exc.status != 422:  # 422: created meanwhile by someone else
                raise
            self.forget_repo(repo)
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
            self._delete_comment(task, repo, comment, writes)
            return None
        body = render_comment(task.external_id, comment.body, comment.digest)
        known = comment.comment_id
        if comment.action is CommentAction.UPDATE and known is not None:
            try:
                self.client.patch(f"repos/{repo}/issues/comments/{known}", {"body": body})
                writes.count += 1
                return known
            except NotFound:
                pass  # deleted by a person: look again, then re-create (one comment)
        look = comment.look_first or change.uncertain or comment.action is CommentAction.UPDATE
        existing = self.comments.find(task.external_id) if look else None
        if existing is not None:
            if not _current(existing, comment, body):
                self.client.patch(f"repos/{repo}/issues/comments/{existing.id}", {"body": body})
                writes.count += 1
            return existing.id
        created = self.client.post(
            f"repos/{repo}/issues/{number}/comments", {"body": body}, creates_content=True
        )
        writes.count += 1
        return str(created["id"])

    def _delete_comment(
        self, task: Task, repo: str, comment: CommentChange, writes: _Writes
    ) -> None:
        target: str | None = None
        if comment.comment_id is not None:
            try:
                found = self.client.get(f"repos/{repo}/issues/comments/{comment.comment_id}")
            except NotFound:
                found = None
            if isinstance(found, dict) and self._is_ours(found):
                target = comment.comment_id
        if target is None:  # unknown or not ours: the bridge's comment is found in the tool
            existing = self.comments.find(task.external_id)
            target = existing.id if existing else None
        if target is None:
            return  # never delete a comment without the bridge's stamp
        try:
            self.client.delete(f"repos/{repo}/issues/comments/{target}")
            writes.count += 1
        except NotFound:
            return

    def _is_ours(self, comment: dict[str, Any]) -> bool:
        """A REST comment that carries the stamp and was written by the bridge's account."""
        if not is_stamped(str(comment.get("body") or "")):
            return False
        author = (comment.get("user") or {}).get("login")
        return same_login(author, self.bot_login())

    # -- draft items --------------------------------------------------------------------------
    def _set_field(self, change: PushChange, writes: _Writes) -> None:
        task, value = change.task, change.field_value or ""
        name = self.settings.kr_status_field
        project = self.projects.by_id(str(task.raw.get("project_id", "")))
        if not name or project is None or name not in project.fields:
            return  # not configured: drafts simply carry no status
        field = project.fields[name]
        option = self.options.option_for(field, value) if value else None
        if value and option is None:
            raise RequestFailed(
                self.instance,
                f"field {name!r} of project {project.number} has no option for {value!r}; "
                f"its options: {', '.join(field.options) or 'none'} (see status_options)",
            )
        fresh = task.marks is not None or not change.uncertain
        if fresh and (task.fields.get(name) or None) == option:
            return  # already so: no write
        ids = {"project": project.id, "item": task.external_id, "field": field.id}
        if option is None:
            self.client.graphql("clear_item_field", ids, mutation=True)
        else:
            variables = {**ids, "option": field.options[option]}
            self.client.graphql("set_item_field", variables, mutation=True)
        writes.count += 1


def _current(existing: BridgeComment, comment: CommentChange, body: str) -> bool:
    """Whether the comment found already says what `comment` would write."""
    if comment.digest and existing.digest is not None:
        return existing.digest == comment.digest
    return existing.body.strip() == body.strip()


def _repo_number(instance: str, task: Task) -> tuple[str, int]:
    repo, _, number = task.key.rpartition("#")
    if not repo or not number.isdigit():
        raise RequestFailed(instance, f"task {task.key!r} is not an issue or pull request")
    return quote(repo, safe="/"), int(number)
