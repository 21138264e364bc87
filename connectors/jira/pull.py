"""Pulling issues, each with the bridge's marks (its comment, found among the embedded ones).

A first or full pull follows Atlassian's recommended pattern since the old `/search` was
removed: page through `POST /rest/api/3/search/jql` asking only for `id` (up to 5,000 per page,
ordered by `updated`), then fetch the fields in chunks of 100 with `POST
/rest/api/3/issue/bulkfetch`, several chunks at once. An incremental pull asks the search for
whole issues (pages of 100), so a quiet interval costs one request and issues already read are
dropped without another. Results are yielded in search order, so the cursor can advance page by
page.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
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

from .client import BULKFETCH_MAX, RECONCILE_MAX, JiraClient
from .marks import MarkFinder
from .normalize import FieldMap, IssueShapeError, normalize_issue, parse_jira_datetime
from .settings import JiraSettings
from .webhooks import project_scope

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
    finalized: bool = False
    fields: FieldMap | None = None
    """Field ids resolved by the run that wrote the cursor (for the same field names)."""


Issue = dict[str, Any]
WHOLE_PAGE = 100
"""Issues per page of a search that returns whole issues (Jira's cap for such pages)."""
MARK_BATCH = 1000
"""Issues whose bridge comments are confirmed together (one `POST /comment/list`)."""


class JiraPuller:
    """Turns cursors into pages of Tasks for one instance, each task with its marks."""

    def __init__(
        self,
        client: JiraClient,
        settings: JiraSettings,
        *,
        instance: str,
        field_map: Callable[[], FieldMap],
        marks: MarkFinder,
        known_fields: Callable[[FieldMap], None] = lambda _: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.settings = settings
        self.instance = instance
        self._field_map = field_map
        self._known_fields = known_fields
        self._marks = marks
        self._clock = clock

    def pull(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        """Pages in `updated` order, each with the cursor that is safe once it is committed.

        A first or full pull pages through ids and fetches details in bulk; an incremental
        pull asks the search for whole issues, so that a quiet interval costs one request
        (issues already read with the same `updated` are dropped without another request).
        """
        run = self._start(cursor)
        if not full and run.fields is not None:
            self._known_fields(run.fields)  # resolved by an earlier run: no `GET /field`
        self._field_map()  # resolve once, before the fetch threads start
        since = None if full or run.cursor_time is None else run.cursor_time
        jql = incremental_jql(
            self.settings.scope_jql, overlap_start(since, self.settings.overlap) if since else None
        )
        if since is None:
            yield from self._pull_by_ids(run, jql, full=full)
        else:
            yield from self._pull_whole(run, jql)
        if not run.finalized:
            yield self._page(run, [], [], full=full, final=True)

    def fetch(self, external_ids: Sequence[str]) -> list[Task]:
        """Current state of specific issues within the instance's scope, with their marks;
        missing, invisible and out-of-scope ones are omitted."""
        ids = list(dict.fromkeys(str(x) for x in external_ids))
        chunks = [ids[i : i + BULKFETCH_MAX] for i in range(0, len(ids), BULKFETCH_MAX)]
        raw = [issue for chunk in chunks for issue in self._fetch_chunk(chunk)]
        raw = self._in_scope(raw)
        return [t for batch in _batches([raw]) for t in self._tasks(batch)]

    def _in_scope(self, issues: list[Issue]) -> list[Issue]:
        """The issues the scope selects: by project key when the scope is a project list,
        else by asking the search (with read-after-write consistency for these ids)."""
        projects = project_scope(self.settings.scope_jql)
        if projects is not None:
            return [i for i in issues if _project(i) in projects]
        inside: set[str] = set()
        ids = [str(i["id"]) for i in issues]
        for start in range(0, len(ids), RECONCILE_MAX):
            chunk = ids[start : start + RECONCILE_MAX]
            jql = f"({self.settings.scope_jql}) AND id in ({', '.join(chunk)})"
            body, _ = self.client.search_ids(jql, None, len(chunk), reconcile=chunk)
            inside.update(str(i["id"]) for i in body.get("issues") or () if _has_id(i))
        return [i for i in issues if str(i["id"]) in inside]

    # -- the two ways of reading --------------------------------------------------------------
    def _pull_by_ids(self, run: _RunState, jql: str, *, full: bool) -> Iterator[Page]:
        pages = TokenPaginator(instance=self.instance)
        size = self.settings.page_size
        workers = self.settings.max_concurrency
        with ThreadPoolExecutor(workers, "jira-bulkfetch") as pool, ThreadPoolExecutor(1) as ahead:
            upcoming = ahead.submit(self.client.search_ids, jql, None, size)
            while pages.has_more:
                body, server_time = upcoming.result()
                self._server_clock(run, pages, server_time)
                pages.advance(_token(body.get("nextPageToken")), _flag(body.get("isLast")))
                if pages.has_more:  # read the next ids page while this one is being fetched
                    upcoming = ahead.submit(self.client.search_ids, jql, pages.next_token, size)
                ids = [str(i["id"]) for i in body.get("issues") or () if _has_id(i)]
                chunks = [ids[i : i + BULKFETCH_MAX] for i in range(0, len(ids), BULKFETCH_MAX)]
                held: list[Issue] | None = None  # one batch behind, to know which is the last
                for batch in _batches(self._ordered(pool, chunks)):
                    if held is not None:
                        yield self._issues_page(run, held, full=full, final=False)
                    held = batch
                if held is not None:
                    yield self._issues_page(run, held, full=full, final=not pages.has_more)

    def _pull_whole(self, run: _RunState, jql: str) -> Iterator[Page]:
        pages = TokenPaginator(instance=self.instance)
        fields = self._fields()
        while pages.has_more:
            body, server_time = self.client.search_ids(
                jql, pages.next_token, WHOLE_PAGE, fields=fields
            )
            self._server_clock(run, pages, server_time)
            pages.advance(_token(body.get("nextPageToken")), _flag(body.get("isLast")))
            issues = [i for i in body.get("issues") or () if _has_id(i)]
            yield self._issues_page(run, issues, full=False, final=not pages.has_more)

    def _issues_page(self, run: _RunState, issues: list[Issue], *, full: bool, final: bool) -> Page:
        """A page from raw issues: repeats dropped (unless full) before any marks lookup."""
        times = [_updated(i) for i in issues]
        fresh = [
            issue
            for issue, updated in zip(issues, times, strict=True)
            if updated is not None and run.dedupe.is_new(str(issue["id"]), updated)
        ]
        tasks = self._tasks(issues if full else fresh)
        return self._page(run, tasks, [t for t in times if t is not None], full=full, final=final)

    def _ordered(self, pool: ThreadPoolExecutor, chunks: list[list[str]]) -> Iterator[list[Issue]]:
        """Fetch chunks concurrently, results in submission order (so pages stay in search
        order), with a bounded look-ahead so memory stays flat however many issues there are."""
        ahead = 2 * self.settings.max_concurrency
        pending: deque[Future[list[Issue]]] = deque()
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
            fields=self._stored_fields(state.get("fields")),
        )

    def _field_names(self) -> list[str]:
        return [self.settings.estimate_field or "", *self.settings.extra_fields]

    def _stored_fields(self, stored: Any) -> FieldMap | None:
        """The field ids a cursor remembers, if they were resolved for today's names."""
        if not isinstance(stored, dict) or stored.get("names") != self._field_names():
            return None
        ids = stored.get("ids")
        if not isinstance(ids, list) or len(ids) != len(self._field_names()):
            return None
        estimate = str(ids[0]) if ids[0] else None
        extra = dict(zip(self.settings.extra_fields, map(str, ids[1:]), strict=True))
        return FieldMap(estimate=estimate, extra=extra)

    def _fields_state(self) -> dict[str, Any]:
        resolved = self._field_map()
        ids = [resolved.estimate or "", *(resolved.extra[n] for n in self.settings.extra_fields)]
        return {"names": self._field_names(), "ids": ids}

    @staticmethod
    def _server_clock(run: _RunState, pages: TokenPaginator, server_time: datetime | None) -> None:
        if pages.pages == 0 and server_time is not None:
            # Measure "settled" on the server's clock (Date header, whole seconds, rounded
            # down): our own clock may be ahead of Jira's.
            run.run_start = min(run.run_start, server_time)

    def _fields(self) -> list[str]:
        return [*self._field_map().request_fields(), "comment"]

    def _fetch_chunk(self, ids: list[str]) -> list[Issue]:
        if not ids:
            return []
        issues = self.client.bulkfetch(ids, self._fields())
        order = {issue_id: index for index, issue_id in enumerate(ids)}
        return sorted(
            (i for i in issues if _has_id(i)), key=lambda i: order.get(str(i["id"]), len(order))
        )

    def _tasks(self, issues: list[Issue]) -> list[Task]:
        """Tasks with their marks; issues lacking what a task needs are left out."""
        if not issues:
            return []
        field_map = self._field_map()
        usable = []
        for issue in issues:
            try:
                usable.append(
                    normalize_issue(
                        issue,
                        instance=self.instance,
                        base_url=self.settings.base_url,
                        field_map=field_map,
                    )
                )
            except IssueShapeError:
                continue  # the read asked for these fields; an issue without them is not usable
        wanted = {t.external_id for t in usable}
        marks = self._marks.marks([i for i in issues if str(i["id"]) in wanted])
        return [t.model_copy(update={"marks": marks[t.external_id]}) for t in usable]

    def _page(
        self,
        run: _RunState,
        tasks: list[Task],
        updated_times: list[datetime],
        *,
        full: bool,
        final: bool,
    ) -> Page:
        # JQL compares `updated` at minute resolution in the account's time zone and the search
        # index is eventually consistent, so every incremental read overlaps the previous one;
        # issues already read with the same (id, updated) were dropped by the caller.
        # An issue edited after the search started comes back newer than its search position;
        # later pages may still hold older issues, so such times never advance the cursor.
        settled = [t for t in updated_times if t <= run.run_start]
        run.cursor_time = advance(run.cursor_time, max(settled, default=None), cap=run.run_start)
        if final:
            # Everything the index held when the search began has been read: the cursor moves
            # to that moment on the server's clock, even when nothing changed.
            run.cursor_time = advance(run.cursor_time, run.run_start, cap=run.run_start)
        run.finalized = final
        state: dict[str, Any] = {
            "scope": run.scope_hash,
            "seen": run.dedupe.dump(),
            "fields": self._fields_state(),
        }
        if run.cursor_time is not None:
            state["t"] = epoch_millis(run.cursor_time)
        return Page(tasks=tasks, cursor=encode_cursor(state))


def _batches(chunks: Iterable[list[Issue]]) -> Iterator[list[Issue]]:
    """Consecutive chunks joined into batches of about `MARK_BATCH` issues."""
    batch: list[Issue] = []
    for chunk in chunks:
        batch.extend(chunk)
        if len(batch) >= MARK_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _project(issue: Issue) -> str:
    fields = issue.get("fields")
    project = fields.get("project") if isinstance(fields, dict) else None
    if isinstance(project, dict) and project.get("key"):
        return str(project["key"]).upper()
    return str(issue.get("key") or "").rsplit("-", 1)[0].upper()


def _updated(issue: Issue) -> datetime | None:
    fields = issue.get("fields")
    return parse_jira_datetime(fields.get("updated")) if isinstance(fields, dict) else None


def _has_id(item: Any) -> bool:
    return isinstance(item, dict) and bool(item.get("id"))


def _token(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None
