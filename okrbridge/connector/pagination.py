"""Paging helpers: a token paginator that refuses loops, and RFC 8288 (5988) `Link` parsing.

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

__all__ = ["TokenPaginator", "next_link", "parse_link_header"]


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


def parse_link_header(value: str | None) -> dict[str, str]:
    """`rel` -> URL from a `Link` header (`<url>; rel="next", <url>; rel="last"`)."""
    links: dict[str, str] = {}
    if not value:
        return links
    for part in _split_links(value):
        url_part, _, params = part.partition(";")
        url = url_part.strip().removeprefix("<").removesuffix(">")
        for param in params.split(";"):
            name, _, rel = param.strip().partition("=")
            if name.strip().lower() == "rel":
                for rel_name in rel.strip().strip('"').split():
                    links.setdefault(rel_name.lower(), url)
    return links


def next_link(response: httpx.Response) -> str | None:
    """The `rel="next"` URL of a GitHub REST page, or None on the last page."""
    return parse_link_header(response.headers.get("link")).get("next")


def _split_links(value: str) -> list[str]:
    """Split on the commas between links, not on commas inside `<...>` URLs."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in value:
        if char == "<":
            depth += 1
        elif char == ">":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]
