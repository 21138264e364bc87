"""`POST /webhooks/{instance}`: verify, screen, store the raw delivery, answer 202.

The request path never waits on a tool: it checks the size, the signature
(`Connector.verify_webhook`) and screens the delivery (`Connector.screen_webhook`: delivery id,
event, handled or ignored), all without I/O; then the durable inbox (which de-duplicates by
delivery id) and 202. Everything that needs the tool (identities, echo detection, the full
parse) happens in the inbox worker.

Bad input never yields a 500: too large 413 (checked while the body streams in), missing or
bad signature 401 (no detail), not plausibly from the tool 400, unknown instance 404.

The hot path is a plain ASGI handler (`WebhookReceiver.asgi`) that the daemon's app calls
before FastAPI's middleware, routing and dependency injection, which cost more CPU than the
receiving itself. The same logic is also a FastAPI route (`webhook_router`): it documents the
endpoint in the OpenAPI schema and serves it wherever the hot path is not in front.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.datastructures import URL
from starlette.requests import ClientDisconnect

from okrbridge.connector.base import (
    Connector,
    WebhookPayloadError,
    WebhookRequest,
    WebhookScreening,
)
from okrbridge.logs import Throttle, get_logger
from okrbridge.store.text import clean, clean_text
from okrbridge.web.headers import inbox_headers
from okrbridge.web.state import WebState

__all__ = [
    "PATH_PREFIX",
    "BodyTooLargeError",
    "Refusal",
    "WebhookReceiver",
    "read_capped",
    "webhook_router",
]

log = get_logger(__name__)

PATH_PREFIX = "/webhooks/"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Answer = tuple[int, dict[str, str]]

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
    503: {"description": "The store is unavailable; the tool should redeliver."},
}


@dataclass(frozen=True)
class Refusal:
    """A delivery turned away: its status, the reason logged, and what the sender is told
    (the reason itself unless `public` says otherwise: a 401 gets no detail)."""

    status: int
    reason: str
    public: str = ""


class BodyTooLargeError(Exception):
    """The request body exceeds the configured cap."""


async def read_capped(chunks: AsyncIterator[bytes], declared: str | None, cap: int) -> bytes:
    """The body, refusing (before reading it all) anything over `cap` bytes."""
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise BodyTooLargeError
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > cap:
            raise BodyTooLargeError
        parts.append(chunk)
    return b"".join(parts)


async def _asgi_chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The body's chunks as the server hands them over (`ClientDisconnect` if the peer left)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


class WebhookReceiver:
    """Receives deliveries for the connectors of one daemon (`state.connectors`).

    Verification and screening run on a small thread pool, off the event loop: an HMAC over
    a large body or a JSON decode would otherwise hold every other request up. Neither does
    I/O (the contract of `verify_webhook` and `screen_webhook`).
    """

    def __init__(self, state: WebState, *, check_threads: int = 8) -> None:
        self.state = state
        self.cap = state.config.web.max_body_bytes
        self._checks = ThreadPoolExecutor(check_threads, thread_name_prefix="webhook-check")
        self.throttle = Throttle(limit=10, window=60.0)

    @staticmethod
    def instance_of(scope: Scope) -> str | None:
        """The instance of a `POST /webhooks/{instance}` request, else None (not ours)."""
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if not path.startswith(PATH_PREFIX):
            return None
        instance = path[len(PATH_PREFIX) :]
        return instance if instance and "/" not in instance else None

    async def asgi(self, scope: Scope, receive: Receive, send: Send, instance: str) -> None:
        """Serve one delivery as a plain ASGI exchange."""
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        url = str(URL(scope=scope))  # as Starlette builds it: Trello signs body + callback URL
        status, payload = await self.answer(instance, url, headers, _asgi_chunks(receive))
        body = _json(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        self.record(instance, status, started)

    async def answer(
        self, instance: str, url: str, headers: dict[str, str], chunks: AsyncIterator[bytes]
    ) -> Answer:
        """Status and JSON payload for one delivery; 202 only once it is durably stored."""
        connector = self.state.connectors.get(instance)
        if connector is None:
            return self.refuse(instance, Refusal(404, "unknown connector instance"))
        try:
            body = await read_capped(chunks, headers.get("content-length"), self.cap)
        except BodyTooLargeError:
            return self.refuse(instance, Refusal(413, f"body larger than {self.cap} bytes"))
        except ClientDisconnect:
            return self.refuse(instance, Refusal(400, "client disconnected"))
        delivery = WebhookRequest("POST", url, headers, body)
        loop = asyncio.get_running_loop()
        outcome = await loop.run_in_executor(self._checks, _check, connector, delivery)
        if isinstance(outcome, Refusal):
            return self.refuse(instance, outcome)
        delivery_id = _storable_id(outcome.delivery_id, body)
        if not outcome.handled:
            reason = outcome.reason or "event not handled"
            self.note("webhook ignored", instance, reason, delivery_id, outcome.event, 202)
            return 202, {"status": "ignored"}
        kept = inbox_headers(headers, connector.webhook_headers)  # never credentials
        future = self.state.writer.submit(instance, delivery_id, kept, body, event=outcome.event)
        try:
            new = await asyncio.wrap_future(future)
        except Exception:  # the writer logged why
            return 503, {"error": "store unavailable"}
        log.debug("delivery stored", connector=instance, delivery=delivery_id, new=new)
        return 202, {"status": "accepted" if new else "duplicate", "delivery": delivery_id}

    def refuse(self, instance: str, refusal: Refusal) -> Answer:
        """Log a refused delivery (one line, rate-limited) and give the answer to send."""
        self.note("webhook rejected", instance, refusal.reason, None, None, refusal.status)
        return refusal.status, {"error": refusal.public or refusal.reason}

    def note(
        self,
        what: str,
        instance: str,
        reason: str,
        delivery: str | None,
        event: str | None,
        status: int,
    ) -> None:
        """One structured line per rejected or ignored delivery, at most `Throttle.limit` a
        minute for each reason and instance; the next one says how many were suppressed."""
        known = instance if instance in self.state.connectors else "unknown"
        suppressed = self.throttle.admit((what, known, reason.split(":", 1)[0]))
        if suppressed is None:
            return
        fields: dict[str, Any] = {"connector": clean_text(instance)[:100], "status": status}
        if delivery:
            fields["delivery"] = delivery[:200]
        if event:
            fields["tool_event"] = clean_text(event)[:100]
        if suppressed:
            fields["suppressed"] = suppressed
        emit = log.warning if status >= 400 else log.info
        emit(what, reason=clean_text(reason)[:300], **fields)

    def record(self, instance: str, status: int, started: float) -> None:
        """Count the answer (and time an acknowledgement) in the daemon's metrics."""
        known = instance if instance in self.state.connectors else "unknown"
        self.state.metrics.webhooks.labels(known, str(status)).inc()
        if status == 202:
            self.state.metrics.ack_seconds.labels(known).observe(time.perf_counter() - started)


MAX_DELIVERY_ID = 200
"""The inbox's `delivery_id` column; a longer id is stored as its digest."""


def _storable_id(delivery_id: str, body: bytes) -> str:
    """The id as the store keeps it (no NUL, no lone surrogate; also in the answer and the
    logs): the body's digest when the tool sends none, the id's own when it is too long."""
    text = clean_text(delivery_id)
    if not text:
        return "sha256:" + hashlib.sha256(body).hexdigest()
    if len(text) > MAX_DELIVERY_ID:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return text


def _json(payload: dict[str, str]) -> str:
    """The answer's JSON; its text normalised, as error messages may quote the delivery."""
    return json.dumps(clean(payload), ensure_ascii=False, separators=(",", ":"))


def _check(connector: Connector[Any], delivery: WebhookRequest) -> WebhookScreening | Refusal:
    """Verify and screen (pure, no I/O); a refusal comes back as what to answer and log.

    A connector that raises on odd input is answered 401 or 400 with one log line naming the
    exception's type, never a traceback: whoever can post can otherwise fill the log (deeply
    nested JSON raising RecursionError, say)."""
    try:
        if not connector.verify_webhook(delivery):
            return Refusal(401, "bad or missing signature", "unauthorized")
    except Exception as exc:  # a connector bug on odd input must not become a 500
        return Refusal(401, f"verification raised {type(exc).__name__}", "unauthorized")
    try:
        return connector.screen_webhook(delivery)
    except WebhookPayloadError as exc:
        return Refusal(400, f"not a {connector.name} delivery: {exc}")
    except Exception as exc:  # implausible input that tripped the screening: answered as such
        reason = f"not a {connector.name} delivery: screening raised {type(exc).__name__}"
        return Refusal(400, reason)


def webhook_router(receiver: WebhookReceiver) -> APIRouter:
    """The webhook routes as FastAPI routes (documented; the hot path bypasses the POST one)."""
    router = APIRouter(tags=["webhooks"])

    @router.post(
        "/webhooks/{instance}",
        status_code=202,
        responses=_RESPONSES,
        openapi_extra=_BODY_DOC,
        summary="Receive a tool's webhook delivery",
    )
    async def receive(instance: str, request: Request) -> Response:
        started = time.perf_counter()
        headers = {name.lower(): value for name, value in request.headers.items()}
        status, payload = await receiver.answer(
            instance, str(request.url), headers, request.stream()
        )
        receiver.record(instance, status, started)
        return Response(
            _json(payload),
            status_code=status,
            media_type="application/json",
        )

    @router.head(
        "/webhooks/{instance}",
        summary="Callback check (Trello sends HEAD when a webhook is created)",
        responses={200: {"description": "The instance exists."}, 404: {"description": "No."}},
    )
    async def check(instance: str) -> Response:
        return Response(status_code=200 if instance in receiver.state.connectors else 404)

    return router
