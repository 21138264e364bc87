"""Simulated writes: `PUT /issue` (update verbs and `fields`) and comments with properties."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .adf import check_document
from .payloads import comment_json
from .state import SimIssue, SimUser, StoredComment

if TYPE_CHECKING:
    from .tool import Delivery, JiraSimulator

__all__ = ["comment_routes", "edit_issue", "issue_write_limited"]

UserHandler = Callable[[Request, SimUser], Awaitable[Response]]
_NOT_ADF = "Comment body is not valid! Operation value must be an Atlassian Document (see ADF)."
_LIST_MAX = 1000


def _error(status: int, *messages: str, errors: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errorMessages": list(messages), "errors": errors or {}}, status)


def issue_write_limited(sim: JiraSimulator, key: str) -> Response | None:
    """429 when this issue has taken its share of writes for now (per-issue write limit)."""
    wait = sim.issue_write_wait(key)
    if wait <= 0:
        return None
    response = _error(429, "Too many writes to this issue. Try again later.")
    response.headers.update(
        {"Retry-After": str(max(1, math.ceil(wait))), "RateLimit-Reason": "jira-per-issue-on-write"}
    )
    return response


def edit_issue(
    sim: JiraSimulator, issue: SimIssue, body: Any, user: SimUser
) -> tuple[Response, list[Delivery]]:
    """Apply an edit as Jira does: `update` verbs (add/remove/set) and `fields` (set)."""
    if not isinstance(body, dict):
        return _error(400, "Invalid request payload."), []
    update = body.get("update") or {}
    fields = body.get("fields") or {}
    if not isinstance(update, dict) or not isinstance(fields, dict):
        return _error(400, "Invalid request payload."), []
    both = sorted(set(update) & set(fields))
    if both:
        return _error(
            400, errors={f: f"Field '{f}' cannot be set in both fields and update." for f in both}
        ), []
    labels = list(issue.labels)
    if "labels" in fields:
        labels = [str(x) for x in fields["labels"] or []]  # SET: replaces the whole list
    for verb in update.get("labels") or []:
        labels = _apply_verb(labels, verb)
    bad = [label for label in labels if not label or any(ch.isspace() for ch in label)]
    if bad:
        return _error(
            400, errors={"labels": f"The label '{bad[0]}' contains spaces which is invalid."}
        ), []
    deliveries = sim.replace_labels(issue, labels, user)
    if isinstance(fields.get("summary"), str) and fields["summary"] != issue.summary:
        issue.summary = fields["summary"]
        sim.state.touch(issue)
    return Response(status_code=204), deliveries


def _apply_verb(labels: list[str], verb: Any) -> list[str]:
    if not isinstance(verb, dict):
        return labels
    if "set" in verb:
        return [str(x) for x in verb["set"] or []]
    if "add" in verb and str(verb["add"]) not in labels:
        return [*labels, str(verb["add"])]
    if "remove" in verb:
        return [x for x in labels if x != str(verb["remove"])]
    return labels


def comment_routes(sim: JiraSimulator) -> list[tuple[str, UserHandler, list[str]]]:
    """(path, handler, methods) of the comment endpoints."""
    state = sim.state

    def missing_issue() -> Response:
        return _error(404, "Issue does not exist or you do not have permission to see it.")

    def missing_comment(comment_id: str) -> Response:
        return _error(404, f"Can not find a comment for the id: {comment_id}.")

    def find_comment(issue: SimIssue, comment_id: str) -> StoredComment | None:
        return next((c for c in issue.comments if str(c.id) == comment_id), None)

    async def list_comments(request: Request, user: SimUser) -> Response:
        query = request.query_params
        start = int(query.get("startAt", "0") or 0)
        size = min(5000, int(query.get("maxResults", "5000") or 5000))
        expand = "properties" in query.get("expand", "")
        with state.lock:
            issue = state.find(request.path_params["key"])
            if issue is None:
                return missing_issue()
            chosen = issue.comments[start : start + size]
            comments = [
                comment_json(c, issue, state, sim.base_url, properties=expand) for c in chosen
            ]
            total = len(issue.comments)
        return JSONResponse(
            {"startAt": start, "maxResults": size, "total": total, "comments": comments}
        )

    async def create(request: Request, user: SimUser) -> Response:
        sim.count_write()
        limited = issue_write_limited(sim, request.path_params["key"])
        if limited is not None:
            return limited
        body = await _body(request)
        if not _is_adf(body.get("body")):
            return _error(400, _NOT_ADF)
        props = _properties(body)
        with state.lock:
            issue = state.find(request.path_params["key"])
            if issue is None:
                return missing_issue()
            comment = state.new_comment(issue, body["body"], user.account_id, props)
            out = comment_json(comment, issue, state, sim.base_url, properties=True)
            deliveries = sim.comment_events("comment_created", "issue_commented", issue, comment)
        sim.emit(deliveries)
        return JSONResponse(out, 201)

    async def get_one(request: Request, user: SimUser) -> Response:
        expand = "properties" in request.query_params.get("expand", "")
        with state.lock:
            issue = state.find(request.path_params["key"])
            if issue is None:
                return missing_issue()
            comment = find_comment(issue, request.path_params["cid"])
            if comment is None:
                return missing_comment(request.path_params["cid"])
            return JSONResponse(
                comment_json(comment, issue, state, sim.base_url, properties=expand)
            )

    async def update(request: Request, user: SimUser) -> Response:
        sim.count_write()
        limited = issue_write_limited(sim, request.path_params["key"])
        if limited is not None:
            return limited
        sim.notify_flags.append(request.query_params.get("notifyUsers"))
        body = await _body(request)
        if not _is_adf(body.get("body")):
            return _error(400, _NOT_ADF)
        with state.lock:
            issue = state.find(request.path_params["key"])
            comment = find_comment(issue, request.path_params["cid"]) if issue else None
            if issue is None or comment is None:
                return missing_comment(request.path_params["cid"])
            comment.body, comment.update_author = body["body"], user.account_id
            comment.properties.update(_properties(body))
            state.touch(issue)
            comment.updated = issue.updated
            out = comment_json(comment, issue, state, sim.base_url, properties=False)
            deliveries = sim.comment_events(
                "comment_updated", "issue_comment_edited", issue, comment
            )
        sim.emit(deliveries)
        return JSONResponse(out)

    async def delete(request: Request, user: SimUser) -> Response:
        sim.count_write()
        limited = issue_write_limited(sim, request.path_params["key"])
        if limited is not None:
            return limited
        with state.lock:
            issue = state.find(request.path_params["key"])
            comment = find_comment(issue, request.path_params["cid"]) if issue else None
            if issue is None or comment is None:
                return missing_comment(request.path_params["cid"])
            issue.comments.remove(comment)
            comment.update_author = user.account_id
            state.touch(issue)
            deliveries = sim.comment_events(
                "comment_deleted", "issue_comment_deleted", issue, comment
            )
        sim.emit(deliveries)
        return Response(status_code=204)

    async def by_ids(request: Request, user: SimUser) -> Response:
        body = await _body(request)
        ids = body.get("ids")
        if not isinstance(ids, list) or len(ids) > _LIST_MAX:
            return _error(400, f"Provide between 1 and {_LIST_MAX} comment ids.")
        expand = "properties" in request.query_params.get("expand", "")
        with state.lock:
            found = [state.comment(str(i)) for i in ids]
            values = [
                comment_json(c, issue, state, sim.base_url, properties=expand)
                for issue, c in (f for f in found if f is not None)
            ]
        return JSONResponse(
            {
                "maxResults": _LIST_MAX,
                "startAt": 0,
                "total": len(values),
                "isLast": True,
                "values": values,
            }
        )

    return [
        ("/comment/list", by_ids, ["POST"]),
        ("/issue/{key:str}/comment", list_comments, ["GET"]),
        ("/issue/{key:str}/comment", create, ["POST"]),
        ("/issue/{key:str}/comment/{cid:str}", get_one, ["GET"]),
        ("/issue/{key:str}/comment/{cid:str}", update, ["PUT"]),
        ("/issue/{key:str}/comment/{cid:str}", delete, ["DELETE"]),
    ]


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _is_adf(value: Any) -> bool:
    return check_document(value) is None


def _properties(body: dict[str, Any]) -> dict[str, Any]:
    return {
        p["key"]: p.get("value")
        for p in body.get("properties") or []
        if isinstance(p, dict) and "key" in p
    }
