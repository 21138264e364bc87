"""Pulling issues: ids-only enhanced search pages, then details by concurrent `bulkfetch`.

This is Atlassian's recommended pattern since the old `/search` was removed: page through
`POST /rest/api/3/search/jql` asking only for `id` (up to 5,000 per page, ordered by `updated`),
then fetch the fields in chunks of 100 with `POST /rest/api/3/issue/bulkfetch`, several chunks
at once. Results are yielded in search order, so the cursor can advance page by page.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from okrbridge.connector.base import Page
from okrbridge.connector.cursor import (
    Deduper,
    advance,
    decode_cursor,
    encode_cursor,
    epoch_millis,
    from_epoch_millis,
    overlap_start,
)
from okrbridge.connector.pagination import TokenPaginator
from okrbridge.domain import Task

from .client import BULKFETCH_MAX, JiraClient
from .normalize import FieldMap, IssueShapeError, normalize_issue
from .settings import JiraSettings

__all__ = ["JiraPuller", "incremental_jql", "resolve_field_map"]

_FIELD_ID = re.compile(r"^(customfield_\d+|[a-z][a-zA-Z]*)$")


def incremental_jql(scope: str, since: datetime | None) -> str:
    """The search for one pull: the scope, bounded below by `since` when given.

    The bound is sent as epoch milliseconds: a quoted date literal would be read with minute
    resolution in the *searching account's* time zone, silently shifting the window by its
    UTC offset.
    """
    where = f"({scope})"
    if since is not None:
        where += f" AND updated >= {epoch_millis(since)}"
    return f"{where} ORDER BY updated ASC"


def resolve_field_map(
    settings: JiraSettings, fields: Callable[[], list[dict[str, Any]]]
) -> FieldMap:
    """Field ids for the estimate and extra fields; `GET /field` only if a name is given."""
    wanted = [f for f in (settings.estimate_field, *settings.extra_fields) if f]
    catalog: dict[str, str] = {}
    if any(not _FIELD_ID.match(name) for name in wanted):
        for item in fields():
            catalog[str(item.get("name", "")).casefold()] = str(item.get("id", ""))
            for clause in item.get("clauseNames") or ():
                catalog.setdefault(str(clause).casefold(), str(item.get("id", "")))

    def resolve(name: str) -> str:
        if _FIELD_ID.match(name):
            return name
        found = catalog.get(name.casefold())
        if not found:
            raise ValueError(f"Jira has no field named {name!r} (see GET /rest/api/3/field)")
        return found

    estimate = resolve(settings.estimate_field) if settings.estimate_field else None
    return FieldMap(
        estimate=estimate, extra={name: resolve(name) for name in settings.extra_fields}
    )


@dataclass
class _RunState:
    """What one pull carries from page to page."""

    run_start: datetime
    cursor_time: datetime | None
    dedupe: Deduper
    scope_hash: str
    yielded: int = 0


class JiraPuller:
    """Turns cursors into pages of Tasks for one instance."""

    def __init__(
        self,
        client: JiraClient,
        settings: JiraSettings,
        *,
        instance: str,
        field_map: Callable[[], FieldMap],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.settings = settings
        self.instance = instance
        self._field_map = field_map
        self._clock = clock

    def pull(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        """Pages in `updated` order, each with the cursor that is safe once it is committed."""
        run = self._start(cursor)
        self._field_map()  # resolve once, before the fetch threads start
        since = None if full or run.cursor_time is None else run.cursor_time
        jql = incremental_jql(
            self.settings.scope_jql, overlap_start(since, self.settings.overlap) if since else None
        )
        pages = TokenPaginator(instance=self.instance)
        size = self.settings.page_size
        workers = self.settings.max_concurrency
        with ThreadPoolExecutor(workers, "jira-bulkfetch") as pool, ThreadPoolExecutor(1) as ahead:
            upcoming = ahead.submit(self.client.search_ids, jql, None, size)
            while pages.has_more:
                body, server_time = upcoming.result()
                if pages.pages == 0 and server_time is not None:
                    # Measure "settled" on the server's clock (Date header, whole seconds,
                    # rounded down): our own clock may be ahead of Jira's.
                    run.run_start = min(run.run_start, server_time)
                pages.advance(_token(body.get("nextPageToken")), _flag(body.get("isLast")))
                if pages.has_more:  # read the next ids page while this one is being fetched
                    upcoming = ahead.submit(self.client.search_ids, jql, pages.next_token, size)
                ids = [str(i["id"]) for i in body.get("issues") or () if _has_id(i)]
                chunks = [ids[i : i + BULKFETCH_MAX] for i in range(0, len(ids), BULKFETCH_MAX)]
                for tasks in self._ordered(pool, chunks):
                    yield self._page(run, tasks, full=full)
        if run.yielded == 0:
            yield self._page(run, [], full=full)

    def _ordered(self, pool: ThreadPoolExecutor, chunks: list[list[str]]) -> Iterator[list[Task]]:
        """Fetch chunks concurrently, results in submission order (so pages stay in search
        order), with a bounded look-ahead so memory stays flat however many issues there are."""
        ahead = 2 * self.settings.max_concurrency
        pending: deque[Future[list[Task]]] = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(self._fetch_chunk, chunk))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # the consumer stopped early or a fetch failed
                future.cancel()

    def fetch(self, external_ids: Sequence[str]) -> list[Task]:
        """Current state of specific issues (missing or invisible ones are omitted)."""
        ids = list(dict.fromkeys(external_ids))
        chunks = [ids[i : i + BULKFETCH_MAX] for i in range(0, len(ids), BULKFETCH_MAX)]
        return [task for chunk in chunks for task in self._fetch_chunk(chunk)]

    # -- internals ----------------------------------------------------------------------------
    def _start(self, cursor: str | None) -> _RunState:
        state = decode_cursor(cursor, instance=self.instance)
        scope_hash = hashlib.sha256(self.settings.scope_jql.encode()).hexdigest()[:16]
        if state.get("scope") != scope_hash:
            state = {}  # the scope changed: the old window says nothing about the new issues
        millis = state.get("t")
        return _RunState(
            run_start=self._clock(),
            cursor_time=from_epoch_millis(int(millis)) if millis is not None else None,
            dedupe=Deduper.load(state.get("seen"), self.settings.overlap),
            scope_hash=scope_hash,
        )

    def _fetch_chunk(self, ids: list[str]) -> list[Task]:
        if not ids:
            return []
        field_map = self._field_map()
        issues = self.client.bulkfetch(ids, field_map.request_fields())
        order = {issue_id: index for index, issue_id in enumerate(ids)}
        tasks = []
        for issue in issues:
            try:
                tasks.append(
                    normalize_issue(
                        issue,
                        instance=self.instance,
                        base_url=self.settings.base_url,
                        field_map=field_map,
                    )
                )
            except IssueShapeError:
                continue  # bulkfetch asked for these fields; an issue without them is not usable
        return sorted(tasks, key=lambda t: order.get(t.external_id, len(order)))

    def _page(self, run: _RunState, tasks: list[Task], *, full: bool) -> Page:
        # JQL compares `updated` at minute resolution in the account's time zone and the search
        # index is eventually consistent, so every incremental read overlaps the previous one;
        # issues already stored with the same (id, updated) are dropped here.
        fresh = [
            t
            for t in tasks
            if t.updated_at is not None and run.dedupe.is_new(t.external_id, t.updated_at)
        ]
        # An issue edited after the search started comes back newer than its search position;
        # later pages may still hold older issues, so such times never advance the cursor.
        settled = [t.updated_at for t in tasks if t.updated_at and t.updated_at <= run.run_start]
        run.cursor_time = advance(run.cursor_time, max(settled, default=None), cap=run.run_start)
        run.yielded += 1
        state: dict[str, Any] = {"scope": run.scope_hash, "seen": run.dedupe.dump()}
        if run.cursor_time is not None:
            state["t"] = epoch_millis(run.cursor_time)
        return Page(tasks=tasks if full else fresh, cursor=encode_cursor(state))


def _has_id(item: Any) -> bool:
    return isinstance(item, dict) and bool(item.get("id"))


def _token(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None
