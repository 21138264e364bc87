"""The simulator's HTTP surface (Starlette): REST under `/api/v3`, GraphQL at `/api/graphql`
(the GitHub Enterprise Server layout, so the connector's URL derivation is exercised).

Limits, on by default at GitHub's numbers: REST primary 5,000 requests/hour per token with
`x-ratelimit-*` headers (403 when exhausted); GraphQL 5,000 points/hour, exhaustion answered
with HTTP 200 and a `RATE_LIMITED` error; secondary limit of 80 content-creating requests per
minute and 500 per hour (403 + `retry-after`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.github.simulator.graphql_api import run_graphql
from connectors.github.simulator.state import Delivery, Issue, SimState

__all__ = ["Limits", "build_app"]

Emit = Callable[[list[Delivery]], None]


class Limits:
    """Per-token budgets; tests may lower them or switch them off (None)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.rest_per_hour: int | None = 5000
        self.graphql_points_per_hour: int = 5000
        self.content_per_minute: int | None = 80
        self.content_per_hour: int | None = 500
        self.secondary_retry_after = 60
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            now = self.clock()
            self.rest_used = 0
            self.reset_epoch = int(now) + 3600
            reset_at = datetime.fromtimestamp(self.reset_epoch, UTC)
            self.graphql: dict[str, Any] = {
                "remaining": self.graphql_points_per_hour,
                "reset_at": reset_at,
            }
            self.content: deque[float] = deque()

    def roll(self) -> None:
        if self.clock() >= self.reset_epoch:
            self.reset()

    def rest_headers(self, resource: str = "core") -> dict[str, str]:
        limit = self.rest_per_hour or 5000
        remaining = max(0, limit - self.rest_used)
        if resource == "graphql":
            limit, remaining = self.graphql_points_per_hour, int(self.graphql["remaining"])
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-used": str(limit - remaining),
            "x-ratelimit-reset": str(self.reset_epoch),
            "x-ratelimit-resource": resource,
        }

    def take_rest(self) -> bool:
        self.roll()
        with self._lock:
            if self.rest_per_hour is not None and self.rest_used >= self.rest_per_hour:
                return False
            self.rest_used += 1
            return True

    def take_content(self) -> bool:
        """Count one content-creating request; False when over a secondary limit."""
        now = self.clock()
        with self._lock:
            while self.content and self.content[0] <= now - 3600:
                self.content.popleft()
            last_minute = sum(1 for t in self.content if t > now - 60)
            if self.content_per_minute is not None and last_minute >= self.content_per_minute:
                return False
            if self.content_per_hour is not None and len(self.content) >= self.content_per_hour:
                return False
            self.content.append(now)
            return True


def build_app(
    state: SimState, limits: Limits, token: str, emit: Emit
) -> tuple[Starlette, Callable[[], int]]:
    """The ASGI app over `state` and a function counting the write requests it served; `emit`
    receives the webhook deliveries each change causes."""
    api = _Api(state, limits, token, emit)
    routes = [
        Route("/api/graphql", api.graphql, methods=["POST"]),
        Route("/api/v3/user", api.rest(api.user), methods=["GET"]),
        Route("/api/v3/repos/{owner}/{repo}/labels", api.rest(api.labels), methods=["GET", "POST"]),
        Route(
            "/api/v3/repos/{owner}/{repo}/labels/{name:path}",
            api.rest(api.delete_label),
            methods=["DELETE"],
        ),
        Route("/api/v3/repos/{owner}/{repo}/issues", api.rest(api.issues), methods=["GET"]),
        Route(
            "/api/v3/repos/{owner}/{repo}/issues/{number:int}/labels",
            api.rest(api.issue_labels),
            methods=["POST"],
        ),
        Route(
            "/api/v3/repos/{owner}/{repo}/issues/{number:int}/labels/{name:path}",
            api.rest(api.remove_label),
            methods=["DELETE"],
        ),
        Route(
            "/api/v3/repos/{owner}/{repo}/issues/{number:int}/comments",
            api.rest(api.comments),
            methods=["GET", "POST"],
        ),
        Route(
            "/api/v3/repos/{owner}/{repo}/issues/comments/{comment_id:int}",
            api.rest(api.comment),
            methods=["GET", "PATCH", "DELETE"],
        ),
    ]
    return Starlette(routes=routes), lambda: api.writes


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


_SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)


class _Api:
    def __init__(self, state: SimState, limits: Limits, token: str, emit: Emit) -> None:
        self.state = state
        self.limits = limits
        self.token = token
        self.emit = emit
        self.writes = 0
        """Write requests served: REST POST/PATCH/DELETE and GraphQL mutations."""

    def _authorized(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() in ("bearer", "token") and value == self.token

    # -- GraphQL ------------------------------------------------------------------------------
    async def graphql(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "Bad credentials")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Problems parsing JSON")
        self.limits.roll()
        query, variables = body.get("query", ""), body.get("variables") or {}
        is_mutation = query.lstrip().startswith("mutation")
        if is_mutation and not self.limits.take_content():
            error = {"type": "SECONDARY_RATE_LIMITED", "message": _SECONDARY}
            retry = {"retry-after": str(self.limits.secondary_retry_after)}
            return JSONResponse({"errors": [error]}, status_code=403, headers=retry)
        outcome = run_graphql(self.state, query, variables, self.limits.graphql)
        self.writes += int(outcome.mutation and "data" in outcome.body)
        self.emit(outcome.deliveries)
        return JSONResponse(outcome.body, headers=self.limits.rest_headers("graphql"))

    # -- REST ---------------------------------------------------------------------------------
    def rest(self, handler: Callable[[Request, Any], Response]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            if not self._authorized(request):
                return _error(401, "Bad credentials")
            if not self.limits.take_rest():
                headers = self.limits.rest_headers()
                return _error(403, "API rate limit exceeded for user.", headers)
            creates = request.method == "POST"
            if creates and not self.limits.take_content():
                retry = {"retry-after": str(self.limits.secondary_retry_after)}
                return _error(403, _SECONDARY, {**self.limits.rest_headers(), **retry})
            payload = await request.json() if request.method in ("POST", "PATCH") else None
            response = handler(request, payload)
            self.writes += int(request.method != "GET" and response.status_code < 400)
            response.headers.update(self.limits.rest_headers())
            return response

        return endpoint

    def _issue(self, request: Request) -> Issue | None:
        repo = f"{request.path_params['owner']}/{request.path_params['repo']}"
        return self.state.issue_by_number(repo, int(request.path_params["number"]))

    def user(self, request: Request, _body: Any) -> Response:
        return JSONResponse({"login": self.state.bot, "id": 4242, "type": "User"})

    def labels(self, request: Request, body: Any) -> Response:
        repo = f"{request.path_params['owner']}/{request.path_params['repo']}"
        with self.state.lock:
            labels = self.state.repo_labels(repo)
            if request.method == "GET":
                return _paged(request, [label.rest() for label in labels.values()])
            name = str(body.get("name", ""))
            if not name or len(name) > 50:
                return _error(422, "Validation Failed: name is invalid")
            if name in labels:
                return _error(422, "Validation Failed: already_exists")
            label = self.state.ensure_label(repo, name, str(body.get("color", "ededed")))
            label.description = str(body.get("description", ""))
            return JSONResponse(label.rest(), status_code=201)

    def delete_label(self, request: Request, _body: Any) -> Response:
        """Deleting a label definition also takes it off every issue (as on GitHub)."""
        repo = f"{request.path_params['owner']}/{request.path_params['repo']}"
        name = request.path_params["name"]
        with self.state.lock:
            if self.state.repo_labels(repo).pop(name, None) is None:
                return _error(404, "Not Found")
            for issue in self.state.issues.values():
                if issue.repo == repo and name in issue.labels:
                    issue.labels.remove(name)
        return Response(status_code=204)

    def issues(self, request: Request, _body: Any) -> Response:
        """`GET /repos/{owner}/{repo}/issues`: issues and pull requests, filtered by `state`
        (default open) and `labels` (comma-separated, all required)."""
        repo = f"{request.path_params['owner']}/{request.path_params['repo']}"
        state = request.query_params.get("state", "open")
        wanted = [n for n in request.query_params.get("labels", "").split(",") if n]
        with self.state.lock:
            found = [
                self.state.issue_rest(issue)
                for issue in self.state.issues.values()
                if issue.repo == repo
                and (state == "all" or issue.state.lower() == state)
                and all(name in issue.labels for name in wanted)
            ]
        return _paged(request, found)

    def issue_labels(self, request: Request, body: Any) -> Response:
        with self.state.lock:
            issue = self._issue(request)
            if issue is None:
                return _error(404, "Not Found")
            deliveries = self.state.add_labels(issue, list(body.get("labels", [])), self.state.bot)
            out = [self.state.repo_labels(issue.repo)[n].rest() for n in issue.labels]
        self.emit(deliveries)
        return JSONResponse(out)

    def remove_label(self, request: Request, _body: Any) -> Response:
        name = request.path_params["name"]
        with self.state.lock:
            issue = self._issue(request)
            if issue is None or name not in issue.labels:
                return _error(404, "Label does not exist")
            deliveries = self.state.remove_labels(issue, [name], self.state.bot)
            out = [self.state.repo_labels(issue.repo)[n].rest() for n in issue.labels]
        self.emit(deliveries)
        return JSONResponse(out)

    def comments(self, request: Request, body: Any) -> Response:
        with self.state.lock:
            issue = self._issue(request)
            if issue is None:
                return _error(404, "Not Found")
            if request.method == "GET":
                return _paged(request, [self.state.comment_rest(issue, c) for c in issue.comments])
            comment, deliveries = self.state.add_comment(issue, str(body["body"]), self.state.bot)
            out = self.state.comment_rest(issue, comment)
        self.emit(deliveries)
        return JSONResponse(out, status_code=201)

    def comment(self, request: Request, body: Any) -> Response:
        comment_id = int(request.path_params["comment_id"])
        with self.state.lock:
            issue = self.state.comments.get(comment_id)
            if issue is None:
                return _error(404, "Not Found")
            if request.method == "GET":
                found = next(c for c in issue.comments if c.id == comment_id)
                return JSONResponse(self.state.comment_rest(issue, found))
            if request.method == "DELETE":
                deliveries = self.state.delete_comment(comment_id, self.state.bot)
                response: Response = Response(status_code=204)
            else:
                edited, deliveries = self.state.edit_comment(
                    comment_id, str(body["body"]), self.state.bot
                )
                response = JSONResponse(self.state.comment_rest(issue, edited))
        self.emit(deliveries)
        return response


def _paged(request: Request, items: list[Any]) -> Response:
    per_page = min(100, int(request.query_params.get("per_page", "30")))
    page = max(1, int(request.query_params.get("page", "1")))
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {}
    if page * per_page < len(items):
        url = request.url.include_query_params(page=page + 1, per_page=per_page)
        headers["link"] = f'<{url}>; rel="next"'
    return JSONResponse(chunk, headers=headers)
