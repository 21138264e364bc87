"""Paging helpers: a token paginator that refuses loops, and the next page of a `Link` header.

A connector's pull loop stays short::

    pages = TokenPaginator()
    while pages.has_more:
        body = transport.get_json(path, params={"nextPageToken": pages.next_token})
        yield ...
        pages.advance(body.get("nextPageToken"), body.get("isLast"))
"""

from __future__ import annotations

import httpx

from okrbridge.connector.errors import PaginationError

__all__ = ["TokenPaginator", "next_link"]


class TokenPaginator:
    """Tracks an opaque next-page token (Jira `nextPageToken`, GraphQL `endCursor`...).

    A token seen before means the server would serve the same pages forever, so `advance`
    raises `PaginationError` instead of looping.
    """

    def __init__(self, start_token: str | None = None, *, instance: str = "") -> None:
        self.instance = instance
        self.next_token: str | None = start_token
        self.has_more = True
        self.pages = 0
        self._seen: set[str] = set() if start_token is None else {start_token}

    def advance(self, token: str | None, is_last: bool | None = None) -> None:
        """Record the page just read: its next token and, when the tool says so, whether it
        was the last. Without `is_last`, a missing/empty token ends the listing."""
        self.pages += 1
        done = bool(is_last) if is_last is not None else not token
        if done or not token:
            self.has_more = False
            self.next_token = None
            return
        if token in self._seen:
            raise PaginationError(
                self.instance,
                f"the tool returned page token {token[:40]!r} twice (after {self.pages} "
                "pages); stopping instead of looping forever",
            )
        self._seen.add(token)
        self.next_token = token


def next_link(response: httpx.Response) -> str | None:
    """The `rel="next"` URL of a GitHub REST page (httpx parses the `Link` header), or None on
    the last page."""
    return response.links.get("next", {}).get("url")
