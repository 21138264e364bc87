"""Thin wrapper over the shared `HttpTransport`: GitHub GraphQL and the few REST calls we use.

Why not PyGithub: its `requester.graphql_query` raises a plain `GithubException` for a GraphQL
rate-limit error (which GitHub sends with HTTP 200 and an `errors` array), and `GithubRetry`
never retries it. Here the transport's `retry_hint` recognises that answer and waits for the
reset like any other rate limit, so one client (httpx) serves REST and GraphQL alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from connectors.github.queries import load
from connectors.github.settings import GitHubSettings, graphql_url, rest_url
from okrbridge.connector.base import ConnectorStats
from okrbridge.connector.errors import BadResponse, RequestFailed
from okrbridge.connector.pacing import TokenBucket
from okrbridge.connector.pagination import next_link
from okrbridge.connector.transport import HttpTransport, RetryPolicy

__all__ = ["GitHubClient", "graphql_rate_limit_wait"]

_LIMIT_TYPES = frozenset({"RATE_LIMITED", "RATE_LIMIT"})
MUTATION_POINTS = 1.0
"""Primary points charged per mutation (mutations carry no `rateLimit` in their answer)."""


def graphql_rate_limit_wait(response: httpx.Response, now: float) -> float | None:
    """Seconds to wait when a GraphQL answer is a rate-limit error sent with HTTP 200.

    GitHub's `errors[].type` has been seen as both `RATE_LIMITED` and `RATE_LIMIT`, and
    `x-ratelimit-remaining` is not always 0 then: trust the error type, wait for
    `x-ratelimit-reset` when it is in the future, else a minute.
    """
    if response.status_code != 200 or not response.url.path.endswith("/graphql"):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not any(_is_limit(e) for e in errors):
        return None
    reset = response.headers.get("x-ratelimit-reset", "")
    if reset.isdigit() and float(reset) > now:
        return float(reset) - now + 1.0
    return 60.0


def _is_limit(error: Any) -> bool:
    if not isinstance(error, dict):
        return False
    message = str(error.get("message", "")).lower()
    return error.get("type") in _LIMIT_TYPES or "secondary rate limit" in message


class GitHubClient:
    """GraphQL documents by file name, REST by path; counts GraphQL points into `stats`.

    Writes are paced: at most one per second (GitHub asks for >= 1 s between mutations, and
    this keeps content creation under 80 a minute); content-creating calls (new comments,
    new labels) also take a token from an hourly bucket under GitHub's 500 per hour.
    """

    def __init__(
        self,
        instance: str,
        settings: GitHubSettings,
        token: str,
        stats: ConnectorStats,
        *,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        pacer_clock: Callable[[], float] = time.monotonic,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.instance = instance
        self.stats = stats
        self.graphql_url = graphql_url(settings.base_url)
        self._clock = clock
        # >= 1 s between writes unless the user raised `write_budget_per_minute` above 60.
        writes_per_minute = settings.write_budget_per_minute or 60
        self.write_pacer = TokenBucket(
            writes_per_minute / 60.0, 1.0, clock=pacer_clock, sleep=sleep
        )
        self.content_pacer = TokenBucket.per_window(500, 3600, clock=pacer_clock, sleep=sleep)
        self.transport = HttpTransport(
            instance=instance,
            base_url=rest_url(settings.base_url),
            stats=stats,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "okrbridge",
            },
            credential_hint=f"the token in ${settings.token_env}",
            policy=policy or RetryPolicy(),
            write_pacer=self.write_pacer,
            retry_hint=lambda response: graphql_rate_limit_wait(response, self._clock()),
            client=http_client,
            sleep=sleep,
            clock=clock,
        )

    # -- GraphQL ------------------------------------------------------------------------------
    def graphql(
        self, operation: str, variables: Mapping[str, Any], *, mutation: bool = False
    ) -> dict[str, Any]:
        """Run the document `operation` (a file in `queries/`) and return its `data`.

        `NOT_FOUND` errors for single ids (`nodes(ids:)` with a deleted id) leave a null in
        `data` and are not raised; any other error raises `RequestFailed` with its message.
        """
        body = self.transport.request_json(
            "POST",
            self.graphql_url,
            json={"query": load(operation), "variables": dict(variables)},
            write=mutation,
            idempotent=not mutation,
        )
        if not isinstance(body, dict):
            raise BadResponse(self.instance, f"GraphQL {operation} answered with no object")
        data = body.get("data")
        self._count_cost(data, mutation)
        errors = [e for e in body.get("errors") or [] if not _not_found(e)]
        if errors or not isinstance(data, dict):
            message = "; ".join(str(e.get("message", e)) for e in errors) or "no data"
            raise RequestFailed(
                self.instance, f"GraphQL {operation} failed: {message}", status=200, detail=message
            )
        return data

    def _count_cost(self, data: Any, mutation: bool) -> None:
        rate = data.get("rateLimit") if isinstance(data, dict) else None
        if isinstance(rate, dict) and isinstance(rate.get("cost"), int | float):
            self.stats.cost_points += float(rate["cost"])
            self.stats.extra["graphql_remaining"] = rate.get("remaining")
        elif mutation:
            self.stats.cost_points += MUTATION_POINTS

    # -- REST ---------------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.transport.get_json(path, params=params)

    def get_pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Items of every page of a REST listing, following `Link: rel="next"`."""
        url: str | None = path
        query: Mapping[str, Any] | None = {"per_page": 100, **(params or {})}
        seen: set[str] = set()
        while url is not None and url not in seen:
            seen.add(url)
            response = self.transport.request("GET", url, params=query, expect_json=True)
            yield from response.json()
            url, query = next_link(response), None

    def post(self, path: str, body: Mapping[str, Any], *, creates_content: bool = False) -> Any:
        if creates_content:
            self.content_pacer.acquire()
        return self.transport.request_json("POST", path, json=dict(body))

    def patch(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.transport.request_json("PATCH", path, json=dict(body))

    def delete(self, path: str) -> None:
        self.transport.request("DELETE", path)

    def close(self) -> None:
        self.transport.close()


def _not_found(error: Any) -> bool:
    return isinstance(error, dict) and error.get("type") == "NOT_FOUND"
