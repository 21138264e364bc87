"""Enhanced search (`/search/jql`) over the simulated site: ordering, page caps, opaque tokens."""

from __future__ import annotations

import base64
import bisect
import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .jql import JqlError, Query, parse_jql
from .state import SimIssue, SimState

__all__ = ["FULL_MAX", "IDS_ONLY_MAX", "SearchIndex", "SearchPage"]

IDS_ONLY_MAX = 5000
"""Pages asking only for `id`/`key` may hold up to 5,000 issues."""
FULL_MAX = 100
"""Pages with other fields are capped at 100 issues."""
DEFAULT_MAX = 50

SortKey = tuple[Any, ...]


@dataclass(frozen=True)
class SearchPage:
    issues: list[SimIssue]
    next_token: str | None


@dataclass
class _Cached:
    version: int
    ids: list[int]
    keys: list[SortKey]


class SearchIndex:
    """Caches the sorted result of each query per data version (pages are then bisections)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], _Cached] = {}

    def page(
        self,
        state: SimState,
        jql: str,
        *,
        time_zone: str,
        token: str | None,
        max_results: int | None,
        ids_only: bool,
        reconcile: frozenset[int] = frozenset(),
    ) -> SearchPage:
        """One page; raises `JqlError` for bad queries or tokens. With an index lag, issues
        are matched and ordered as the index last saw them, except those in `reconcile`."""
        query = parse_jql(jql, time_zone=time_zone)
        cached = self._sorted(state, jql, time_zone, query, reconcile)
        cap = IDS_ONLY_MAX if ids_only else FULL_MAX
        size = max(1, min(cap, max_results if max_results else DEFAULT_MAX))
        start = 0
        compare = _comparator(query.order)
        if token:
            last = _read_token(token, jql)
            start = bisect.bisect_right(cached.keys, compare(last), key=compare)
        chosen = cached.ids[start : start + size]
        issues = [state.issues[i] for i in chosen if i in state.issues]
        more = start + size < len(cached.ids)
        next_token = _make_token(cached.keys[start + size - 1], jql) if more and chosen else None
        return SearchPage(issues, next_token)

    def _sorted(
        self, state: SimState, jql: str, time_zone: str, query: Query, reconcile: frozenset[int]
    ) -> _Cached:
        lagging = state.index_lag_ms > 0
        cached = self._cache.get((jql, time_zone))
        if not lagging and cached is not None and cached.version == state.version:
            return cached
        views = [
            (issue.id, state.search_view(issue, fresh=issue.id in reconcile))
            for issue in state.issues.values()
        ]
        matching = [(i, v) for i, v in views if v is not None and query.predicate(v)]
        compare = _comparator(query.order)
        keyed = sorted(
            ((_sort_key(v, query.order), i) for i, v in matching), key=lambda p: compare(p[0])
        )
        cached = _Cached(state.version, [i for _, i in keyed], [k for k, _ in keyed])
        if lagging:
            return cached
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[(jql, time_zone)] = cached
        return cached


def _sort_key(view: dict[str, Any], order: Sequence[tuple[str, bool]]) -> SortKey:
    parts: list[Any] = []
    for field, _ in order:
        if field == "key":
            parts.append((view["project"], int(view["key"].rsplit("-", 1)[1])))
        elif field in ("updated", "created"):
            parts.append(view[field])
        elif field == "id":
            parts.append(int(view["id"]))
        else:
            parts.append(str(view.get(field) or ""))
    parts.append(int(view["id"]))  # ties broken by id, so a keyset token is exact
    return tuple(parts)


def _identity(key: SortKey) -> SortKey:
    return key


def _comparator(order: Sequence[tuple[str, bool]]) -> Any:
    directions = [descending for _, descending in order] + [False]
    if not any(directions):
        return _identity  # all ascending: plain tuple order, much faster than a comparator

    def compare(a: SortKey, b: SortKey) -> int:
        for x, y, descending in zip(a, b, directions, strict=False):
            if x != y:
                result = -1 if x < y else 1
                return -result if descending else result
        return 0

    return functools.cmp_to_key(compare)


def _query_hash(jql: str) -> str:
    return hashlib.sha256(jql.encode()).hexdigest()[:12]


def _make_token(key: SortKey, jql: str) -> str:
    raw = json.dumps({"q": _query_hash(jql), "after": list(key)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_token(token: str, jql: str) -> SortKey:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data["q"] != _query_hash(jql):
            raise ValueError("other query")
        return tuple(tuple(p) if isinstance(p, list) else p for p in data["after"])
    except (ValueError, KeyError, TypeError) as exc:
        raise JqlError("The provided next page token is invalid or expired.") from exc
