"""The ASGI app of the simulated Trello API: auth by `key`/`token`, rate limits, routing.

Handlers run in Starlette's thread pool (the state is guarded by its lock), so a webhook sink
that calls back into the API while a delivery is emitted cannot block the event loop.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .api import dispatch
from .ratelimit import RateLimiter
from .state import ApiError, TrelloState

__all__ = ["build_app"]


def _answer(status: int, body: Any, headers: dict[str, str]) -> Response:
    if isinstance(body, str):
        return PlainTextResponse(body, status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    raw = await request.body()
    if not raw:
        return params
    kind = request.headers.get("content-type", "")
    if "json" in kind:
        try:
            body = json.loads(raw)
        except ValueError:
            return params
        if isinstance(body, dict):
            params.update({k: _text(v) for k, v in body.items()})
    elif "form" in kind:
        params.update(dict(parse_qsl(raw.decode("utf-8"))))
    return params


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def build_app(state: TrelloState, limiter: RateLimiter, api_key: str) -> Starlette:
    """The app serving `/1/...` over `state`, refusing past `limiter`'s limits."""

    async def endpoint(request: Request) -> Response:
        params = await _params(request)
        key, token = params.pop("key", ""), params.pop("token", "")
        if key != api_key:
            return PlainTextResponse("invalid key", status_code=401)
        member = state.tokens.get(token)
        if member is None:
            return PlainTextResponse("invalid token", status_code=401)
        error, headers = limiter.check(key, token)
        if error:
            return JSONResponse({"error": error, "message": error}, 429, headers=headers)
        path = request.path_params["path"]
        if request.method != "GET":  # every Trello write is POST, PUT or DELETE
            with state.lock:
                state.api_writes += 1
        try:
            body = await run_in_threadpool(dispatch, state, member, request.method, path, params)
        except ApiError as exc:
            return _answer(exc.status, exc.body, headers)
        return _answer(200, body, headers)

    routes = [Route("/1/{path:path}", endpoint, methods=["GET", "POST", "PUT", "DELETE"])]
    return Starlette(routes=routes)
