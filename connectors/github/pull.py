"""Reading project items: a cheap steady-state scan, details only for what changed.

`ProjectV2.items` has no updated-since filter and sorts only by position, so every pull must
visit every item. The LEAN scan asks only ids and update times (1 point per 100 items); items
whose `updatedAt` (field edits) or content `updatedAt` (title, state, labels) differ from the
cursor's snapshot are then read in full with `nodes(ids:)`, 100 at a time. A full pull (or a
first pull) reads everything with the full query instead (6 points per 100 items). Every full
read carries the item's last comments, so each task comes with the bridge's marks
(`Task.marks`); an issue whose window of recent comments hides the bridge's is looked up.

The cursor is the snapshot itself: per project, external id -> short digest of the item id and
both update times, zlib-compressed. It is emitted only on the last page of a pass (an unsorted
source may only move its cursor once the whole pass is committed); ids that vanished from every
project are reported in that page's `deleted`.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from connectors.github.client import GitHubClient
from connectors.github.comments import CommentFinder
from connectors.github.normalize import external_id_of, normalize_item
from connectors.github.queries import for_owner
from connectors.github.settings import GitHubSettings
from connectors.github.status_field import StatusOptions
from okrbridge.connector.base import Page
from okrbridge.connector.cursor import decode_cursor, encode_cursor
from okrbridge.connector.errors import CursorError, RequestFailed
from okrbridge.connector.pagination import TokenPaginator
from okrbridge.domain import Task

__all__ = ["DETAIL_BATCH", "Puller", "pack_versions", "unpack_versions", "version_of"]

DETAIL_BATCH = 100
"""Ids per `nodes(ids:)` request (GitHub's maximum)."""
FETCH_BATCH = 10
"""Content ids per re-read: each may sit in several projects (`projectItems(first: 10)`)."""


def version_of(item: dict[str, Any]) -> str:
    """A short digest that changes whenever the item or its content is updated."""
    content = item.get("content") or {}
    text = f"{item.get('id')}|{item.get('updatedAt')}|{content.get('updatedAt')}"
    return hashlib.blake2b(text.encode(), digest_size=5).hexdigest()


def pack_versions(versions: dict[str, str]) -> str:
    lines = "\n".join(f"{key}\t{value}" for key, value in sorted(versions.items()))
    return base64.b64encode(zlib.compress(lines.encode(), 9)).decode("ascii")


def unpack_versions(packed: str, instance: str = "") -> dict[str, str]:
    try:
        text = zlib.decompress(base64.b64decode(packed)).decode()
    except (ValueError, zlib.error) as exc:
        raise CursorError(instance, "the GitHub cursor snapshot is unreadable") from exc
    return dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)


@dataclass
class _Pass:
    """What one pull pass has learnt so far."""

    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    yielded: set[str] = field(default_factory=set)


class Puller:
    """Pull passes over the configured projects of one owner."""

    def __init__(self, instance: str, settings: GitHubSettings, client: GitHubClient) -> None:
        self.instance = instance
        self.settings = settings
        self.client = client
        self.options = StatusOptions(settings)
        self.comments = CommentFinder(instance, client)

    def _task(self, item: dict[str, Any]) -> Task | None:
        return normalize_item(self.instance, self.settings, item, self.options)

    # -- entry points -------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        old = self._old_versions(cursor)
        current = _Pass()
        for number in self.settings.projects:
            previous = None if full else old.get(str(number))
            if previous is None:
                yield from self._full_scan(number, current)
            else:
                yield from self._lean_scan(number, previous, current)
        gone = (
            set().union(*old.values()) - set().union(*current.versions.values()) if old else set()
        )
        state = {"projects": {str(n): pack_versions(v) for n, v in current.versions.items()}}
        yield Page(tasks=(), cursor=encode_cursor(state), deleted=tuple(sorted(gone)))

    def fetch(self, external_ids: Iterable[str], project_ids: set[str]) -> list[Task]:
        """Tasks for content ids (issues/PRs) or item ids (drafts) in the given projects."""
        ids = list(dict.fromkeys(external_ids))
        tasks: dict[str, Task] = {}
        for start in range(0, len(ids), FETCH_BATCH):
            data = self.client.graphql("tasks_by_id", {"ids": ids[start : start + FETCH_BATCH]})
            for node in data.get("nodes") or []:
                for item in _items_of(node):
                    if (item.get("project") or {}).get("id") not in project_ids:
                        continue
                    task = self._task(item)
                    if task is not None and task.external_id not in tasks:
                        tasks[task.external_id] = task
        return self.comments.complete([tasks[i] for i in ids if i in tasks])

    def repositories(self) -> set[str]:
        """`owner/name` of every repository holding an item of the configured projects."""
        repos: set[str] = set()
        for number in self.settings.projects:
            for items in self._pages("item_repos", number):
                for item in items:
                    content = item.get("content") or {}
                    repo = (content.get("repository") or {}).get("nameWithOwner")
                    if repo:
                        repos.add(str(repo))
        return repos

    # -- passes -------------------------------------------------------------------------------
    def _full_scan(self, number: int, current: _Pass) -> Iterator[Page]:
        versions = current.versions.setdefault(str(number), {})
        for items in self._pages("items_full", number):
            tasks = []
            for item in items:
                task = self._task(item)
                if task is None:
                    continue
                versions[task.external_id] = version_of(item)
                if task.external_id not in current.yielded:  # one issue in two projects
                    current.yielded.add(task.external_id)
                    tasks.append(task)
            yield Page(tasks=self.comments.complete(tasks), cursor=None)

    def _lean_scan(self, number: int, previous: dict[str, str], current: _Pass) -> Iterator[Page]:
        versions = current.versions.setdefault(str(number), {})
        changed: list[str] = []
        for items in self._pages("items_lean", number):
            for item in items:
                external_id = external_id_of(item)
                if external_id is None:
                    continue
                versions[external_id] = version_of(item)
                if previous.get(external_id) != versions[external_id]:
                    changed.append(item["id"])
        for start in range(0, len(changed), DETAIL_BATCH):
            batch = changed[start : start + DETAIL_BATCH]
            yield Page(tasks=self._details(batch, versions, current), cursor=None)

    def _details(self, item_ids: list[str], versions: dict[str, str], current: _Pass) -> list[Task]:
        data = self.client.graphql("items_by_id", {"ids": item_ids})
        tasks = []
        for item in data.get("nodes") or []:
            task = None if not item else self._task(item)
            if task is None:
                continue
            versions[task.external_id] = version_of(item)  # as read now, not as scanned
            if task.external_id not in current.yielded:
                current.yielded.add(task.external_id)
                tasks.append(task)
        return self.comments.complete(tasks)

    # -- paging -------------------------------------------------------------------------------
    def _pages(self, stem: str, number: int) -> Iterator[list[dict[str, Any]]]:
        operation = for_owner(stem, self.settings.owner_type)
        pages = TokenPaginator(instance=self.instance)
        while pages.has_more:
            variables = {
                "owner": self.settings.owner,
                "number": number,
                "first": self.settings.page_size,
                "after": pages.next_token,
            }
            connection = self._project(self.client.graphql(operation, variables), number)["items"]
            yield [n for n in connection.get("nodes") or [] if n]
            info = connection.get("pageInfo") or {}
            pages.advance(info.get("endCursor"), not info.get("hasNextPage"))

    def _project(self, data: dict[str, Any], number: int) -> dict[str, Any]:
        owner = data.get("organization") or data.get("user") or {}
        project = owner.get("projectV2") if isinstance(owner, dict) else None
        if not isinstance(project, dict):
            raise RequestFailed(
                self.instance,
                f"project {number} of {self.settings.owner_type} {self.settings.owner!r} "
                "was not found or the token cannot read it (needs read:project)",
                status=404,
            )
        return project

    def _old_versions(self, cursor: str | None) -> dict[str, dict[str, str]]:
        state = decode_cursor(cursor, instance=self.instance)
        packed = state.get("projects") or {}
        if not isinstance(packed, dict):
            raise CursorError(self.instance, "the GitHub cursor has no project snapshots")
        return {str(k): unpack_versions(v, self.instance) for k, v in packed.items()}


def _items_of(node: Any) -> list[dict[str, Any]]:
    """Project items inside a `tasks_by_id` node: the item itself, or an issue's items."""
    if not isinstance(node, dict):
        return []
    if node.get("__typename") == "ProjectV2Item":
        return [node]
    connection = node.get("projectItems") or {}
    return [i for i in connection.get("nodes") or [] if isinstance(i, dict)]
