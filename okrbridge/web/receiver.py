"""`POST /webhooks/{instance}`: verify, parse, store the raw delivery, answer 202.

Bad input never yields a 500: too large 413 (checked while the body streams in), missing or
bad signature 401 (no detail), not plausibly from the tool 400, unknown instance 404.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from okrbridge.connector.base import (
    Connector,
    EventKind,
    WebhookEvent,
    WebhookPayloadError,
    WebhookRequest,
)
from okrbridge.connector.errors import ConnectorError
from okrbridge.logs import get_logger
from okrbridge.web.state import WebState

__all__ = ["BodyTooLargeError", "read_capped", "webhook_router"]

log = get_logger(__name__)

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Stored in the inbox (or ignored); processed in the background."},
    400: {"description": "Not a plausible delivery from this tool (or not JSON)."},
    401: {"description": "Missing or invalid signature."},
    404: {"description": "No enabled connector instance of that name."},
    413: {"description": "Body larger than web.max_body_bytes."},
    503: {"description": "The store (or the tool) is unavailable; the tool should redeliver."},
}


class BodyTooLargeError(Exception):
    """The request body exceeds the configured cap."""


async def read_capped(request: Request, cap: int) -> bytes:
    """The body, refusing (before reading it all) anything over `cap` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise BodyTooLargeError
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def webhook_router(state: WebState) -> APIRouter:
    """The webhook routes, bound to the daemon's state."""
    router = APIRouter(tags=["webhooks"])
    cap = state.config.web.max_body_bytes

    @router.post(
        "/webhooks/{instance}",
        status_code=202,
        responses=_RESPONSES,
        openapi_extra=_BODY_DOC,
        summary="Receive a tool's webhook delivery",
    )
    async def receive(instance: str, request: Request) -> Response:
        started = time.perf_counter()
        response = await _receive(state, cap, instance, request)
        known = instance if instance in state.connectors else "unknown"
        state.metrics.webhooks.labels(known, str(response.status_code)).inc()
        if response.status_code == 202:
            state.metrics.ack_seconds.labels(known).observe(time.perf_counter() - started)
        return response

    @router.head(
        "/webhooks/{instance}",
        summary="Callback check (Trello sends HEAD when a webhook is created)",
        responses={200: {"description": "The instance exists."}, 404: {"description": "No."}},
    )
    async def check(instance: str) -> Response:
        return Response(status_code=200 if instance in state.connectors else 404)

    return router


async def _receive(state: WebState, cap: int, instance: str, request: Request) -> Response:
    connector = state.connectors.get(instance)
    if connector is None:
        return _problem(404, "unknown connector instance")
    try:
        body = await read_capped(request, cap)
    except BodyTooLargeError:
        return _problem(413, f"body larger than {cap} bytes")
    except ClientDisconnect:
        return _problem(400, "client disconnected")
    headers = {name.lower(): value for name, value in request.headers.items()}
    delivery = WebhookRequest("POST", str(request.url), headers, body)
    # Off the event loop: a connector may do I/O here (GitHub looks up its bot login once).
    outcome = await run_in_threadpool(_check, connector, delivery)
    if isinstance(outcome, Response):
        return outcome
    events = outcome
    if not events or all(e.kind is EventKind.IGNORE for e in events):
        return JSONResponse({"status": "ignored"}, status_code=202)
    delivery_id = events[0].delivery_id or "sha256:" + hashlib.sha256(body).hexdigest()
    future = state.writer.submit(instance, delivery_id, headers, body)
    try:
        new = await asyncio.wrap_future(future)
    except Exception:
        return _problem(503, "store unavailable")
    log.debug("delivery stored", connector=instance, delivery=delivery_id, new=new)
    status = "accepted" if new else "duplicate"
    return JSONResponse({"status": status, "delivery": delivery_id}, status_code=202)


def _check(connector: Connector[Any], delivery: WebhookRequest) -> list[WebhookEvent] | Response:
    """Verify and parse; a refusal comes back as the response to send."""
    try:
        if not connector.verify_webhook(delivery):
            return _problem(401, "unauthorized")
    except Exception:  # a connector bug on odd input must not become a 500
        log.warning("webhook verification raised", connector=connector.instance, exc_info=True)
        return _problem(401, "unauthorized")
    try:
        return connector.parse_webhook(delivery)
    except WebhookPayloadError as exc:
        return _problem(400, f"not a {connector.name} delivery: {exc}")
    except ConnectorError as exc:  # the tool itself is unreachable: let it redeliver later
        log.warning("webhook parsing needs the tool", connector=connector.instance, error=str(exc))
        return _problem(503, "tool unavailable")
    except Exception:  # implausible input that tripped the parser: answered as such
        log.warning("webhook parsing raised", connector=connector.instance, exc_info=True)
        return _problem(400, f"not a {connector.name} delivery")
