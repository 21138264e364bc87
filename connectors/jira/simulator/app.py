"""The simulated Jira REST API (Starlette): the paths, shapes, errors and limits the bridge meets.

Served for `/rest/api/2`, `/rest/api/3` and `/rest/api/latest` alike (rich text is ADF in all of
them here; the jira library's v2 calls only read plain fields).
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .jql import JqlError
from .payloads import field_catalog, issue_bytes, issue_json, user_json
from .search import SearchIndex
from .state import SimIssue, SimUser
from .writes import comment_routes, edit_issue, issue_write_limited

if TYPE_CHECKING:
    from .tool import JiraSimulator

__all__ = ["build_app", "error"]

Handler = Callable[[Request], Awaitable[Response]]
REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


def error(status: int, *messages: str, errors: dict[str, str] | None = None) -> JSONResponse:
    """Jira's error body: `{"errorMessages": [...], "errors": {...}}`."""
    return JSONResponse({"errorMessages": list(messages), "errors": errors or {}}, status)


class _Limiter:
    """Per-account token bucket answering 429 with Jira's rate-limit headers."""

    def __init__(self, sim: JiraSimulator) -> None:
        self.sim = sim
        self.lock = threading.Lock()
        self.buckets: dict[str, tuple[float, float]] = {}

    def check(self, account: str) -> Response | None:
        limit = self.sim.rate_limit
        if limit is None or limit.rate <= 0:
            return None
        now = time.monotonic()
        with self.lock:
            tokens, stamp = self.buckets.get(account, (limit.burst, now))
            tokens = min(limit.burst, tokens + (now - stamp) * limit.rate)
            if tokens >= 1:
                self.buckets[account] = (tokens - 1, now)
                return None
            self.buckets[account] = (tokens, now)
        wait = (1 - tokens) / limit.rate
        reset = datetime.now(UTC) + timedelta(seconds=wait)
        response = error(429, "Rate limit exceeded.")
        response.headers.update(
            {
                "Retry-After": str(max(1, math.ceil(wait))),
                "X-RateLimit-Limit": str(int(limit.burst)),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
                "RateLimit-Reason": "jira-burst-based",
            }
        )
        return response


def build_app(sim: JiraSimulator) -> Starlette:
    """The ASGI app for `sim`."""
    index = SearchIndex()
    limiter = _Limiter(sim)

    def authed(handler: Callable[[Request, SimUser], Awaitable[Response]]) -> Handler:
        async def wrapped(request: Request) -> Response:
            user = _authenticate(sim, request.headers.get("authorization", ""))
            if user is None:
                return error(
                    401,
                    "You are not authenticated. Authentication required to perform this operation.",
                )
            limited = limiter.check(user.account_id)
            if limited is not None:
                return limited
            if not sim.base_url:
                sim.base_url = str(request.base_url).rstrip("/")
            return await handler(request, user)

        return wrapped

    async def server_info(request: Request, user: SimUser) -> Response:
        return JSONResponse(
            {
                "baseUrl": sim.base_url,
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "buildNumber": 100289,
                "serverTitle": "Jira",
                "serverTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            }
        )

    async def myself(request: Request, user: SimUser) -> Response:
        body = user_json(user, sim.base_url) or {}
        return JSONResponse({**body, "emailAddress": user.email})

    async def fields(request: Request, user: SimUser) -> Response:
        with sim.state.lock:
            return JSONResponse(field_catalog(sim.state))

    async def removed(request: Request, user: SimUser) -> Response:
        return error(410, REMOVED)

    async def search(request: Request, user: SimUser) -> Response:
        params = await _search_params(request)
        if params is None:
            return error(
                400, "Invalid request payload. Refer to the REST API documentation and try again."
            )
        wanted = params["fields"]
        ids_only = not (set(wanted) - {"id", "key"})
        try:
            with sim.state.lock:
                page = index.page(
                    sim.state,
                    params["jql"],
                    time_zone=user.time_zone,
                    token=params["token"],
                    max_results=params["max"],
                    ids_only=ids_only,
                    reconcile=params["reconcile"],
                )
                chosen = _wanted(wanted)
                issues = [issue_bytes(i, sim.state, sim.base_url, chosen) for i in page.issues]
        except JqlError as exc:
            return error(400, str(exc))
        tail: dict[str, Any] = {"isLast": page.next_token is None}
        if page.next_token:
            tail["nextPageToken"] = page.next_token
        return _issues_response(issues, tail)

    async def bulkfetch(request: Request, user: SimUser) -> Response:
        body = await _json(request)
        ids = body.get("issueIdsOrKeys") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids:
            return error(400, "issueIdsOrKeys must not be empty.")
        if len(ids) > 100:
            return error(400, "The number of issues requested exceeds the maximum of 100.")
        wanted = _wanted(_field_list(body.get("fields")) or ["*navigable"])
        with sim.state.lock:
            found = [sim.state.find(str(i)) for i in ids]
            issues = [
                issue_bytes(i, sim.state, sim.base_url, wanted) for i in found if i is not None
            ]
        return _issues_response(issues, {"issueErrors": []})

    async def get_issue(request: Request, user: SimUser) -> Response:
        with sim.state.lock:
            issue = _find(sim, request)
            if issue is None:
                return error(404, "Issue does not exist or you do not have permission to see it.")
            wanted = _wanted(_field_list(request.query_params.getlist("fields")) or ["*all"])
            return JSONResponse(issue_json(issue, sim.state, sim.base_url, wanted))

    async def put_issue(request: Request, user: SimUser) -> Response:
        sim.count_write()
        limited = issue_write_limited(sim, str(request.path_params["key"]))
        if limited is not None:
            return limited
        sim.notify_flags.append(request.query_params.get("notifyUsers"))
        body = await _json(request)
        sim.issue_edits.append(body)
        with sim.state.lock:
            issue = _find(sim, request)
            if issue is None:
                return error(404, "Issue does not exist or you do not have permission to see it.")
            response, deliveries = edit_issue(sim, issue, body, user)
        sim.emit(deliveries)
        return response

    prefix = "/rest/api/{version:str}"
    routes = [
        Route(f"{prefix}/serverInfo", authed(server_info), methods=["GET"]),
        Route(f"{prefix}/myself", authed(myself), methods=["GET"]),
        Route(f"{prefix}/field", authed(fields), methods=["GET"]),
        Route(f"{prefix}/search", authed(removed), methods=["GET", "POST"]),
        Route(f"{prefix}/search/id", authed(removed), methods=["POST"]),
        Route(f"{prefix}/search/jql", authed(search), methods=["GET", "POST"]),
        Route(f"{prefix}/issue/bulkfetch", authed(bulkfetch), methods=["POST"]),
        Route(f"{prefix}/issue/{{key:str}}", authed(get_issue), methods=["GET"]),
        Route(f"{prefix}/issue/{{key:str}}", authed(put_issue), methods=["PUT"]),
        *[Route(f"{prefix}{path}", authed(h), methods=m) for path, h, m in comment_routes(sim)],
    ]
    return Starlette(routes=routes)


def _issues_response(issues: list[bytes], tail: dict[str, Any]) -> Response:
    """`{"issues": [...], **tail}` from pre-encoded issues."""
    rest = json.dumps(tail, separators=(",", ":"))[1:]
    body = b'{"issues":[' + b",".join(issues) + b"]," + rest.encode()
    return Response(body, media_type="application/json")


def _authenticate(sim: JiraSimulator, header: str) -> SimUser | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value == sim.PAT:
        return sim.state.users.get(_bot_id(sim))
    if scheme.lower() == "basic":
        try:
            email, _, token = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if email == sim.EMAIL and token == sim.TOKEN:
            return sim.state.users.get(_bot_id(sim))
    return None


def _bot_id(sim: JiraSimulator) -> str:
    from .tool import BOT

    return BOT.account_id


def _find(sim: JiraSimulator, request: Request) -> SimIssue | None:
    return sim.state.find(str(request.path_params["key"]))


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _field_list(value: Any) -> list[str]:
    """`fields` as a list (`a,b` strings, repeated query params or a JSON array)."""
    items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def _wanted(fields: list[str]) -> list[str] | None:
    """None for every field (`*all`, `*navigable`), else the names asked for minus exclusions."""
    if any(f in ("*all", "*navigable") for f in fields):
        return None
    return [f for f in fields if not f.startswith("-")]


async def _search_params(request: Request) -> dict[str, Any] | None:
    if request.method == "POST":
        body = await _json(request)
        if not isinstance(body, dict):
            return None
        jql, token, size, fields = (
            body.get("jql", ""),
            body.get("nextPageToken"),
            body.get("maxResults"),
            body.get("fields"),
        )
        reconcile = body.get("reconcileIssues") or []
    else:
        query = request.query_params
        jql, token, size = query.get("jql", ""), query.get("nextPageToken"), query.get("maxResults")
        fields = query.getlist("fields")
        reconcile = query.getlist("reconcileIssues")
    try:
        max_results = int(size) if size not in (None, "") else None
        reconciled = frozenset(int(i) for i in reconcile)
    except (TypeError, ValueError):
        return None
    if len(reconciled) > 50:
        return None
    # With no `fields` the enhanced search returns ids only.
    return {
        "jql": str(jql or ""),
        "token": token or None,
        "max": max_results,
        "fields": _field_list(fields) or ["id"],
        "reconcile": reconciled,
    }
