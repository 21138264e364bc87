"""Pure ASGI middleware that makes any simulator behave like a real, imperfect network service.

Per HTTP request, in this order: latency (an `asyncio.sleep`, so requests still overlap), the
fault decision, then either the wrapped app or the fault; every request ends up in `log`.
Faults other than `lost_response` / `after_processing_timeout` are answered here, before the
app runs, so the simulated tool's state is untouched by them.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass

from okrbridge.sandbox._asgi import ASGIApp, Message, Receive, Scope, Send, is_write
from okrbridge.sandbox.faults import FaultDecider, FaultKind, FaultPlan
from okrbridge.sandbox.requestlog import LoggedRequest, RequestLog

__all__ = ["WRITE_STATE_KEY", "Latency", "SandboxMiddleware"]

WRITE_STATE_KEY = "sandbox_write"
"""Key in the ASGI scope's `state` by which an app marks a request as a write (True) or not."""

_POLL_SECONDS = 0.05
_TRUNCATED_BODY = b'{"values": [{"id": "10001", "fields": {"summary": "Sandbox trunc'
_REASONS = {
    FaultKind.RATE_LIMITED: "Too Many Requests",
    FaultKind.SERVER_ERROR: "Internal Server Error",
    FaultKind.BAD_GATEWAY: "Bad Gateway",
    FaultKind.UNAVAILABLE: "Service Unavailable",
}


@dataclass(frozen=True)
class Latency:
    """Added delay per request: `ms` plus a uniform draw in [-jitter_ms, +jitter_ms] (>= 0)."""

    ms: float = 0.0
    jitter_ms: float = 0.0
    seed: int = 0


class _Exchange:
    """One request in flight: wraps `send` to note the status and writes the log entry.

    The entry is logged just before the answer starts to leave (or the connection is dropped),
    so a client that got its answer always finds its request in the log; `duration` is thus
    the time to the first byte.
    """

    def __init__(self, log: RequestLog, scope: Scope, send: Send) -> None:
        self.raw = send
        self.status: int | None = None
        self.fault: FaultKind | None = None
        self._log = log
        self._scope = scope
        self._seq = log.next_seq()
        self._started = time.monotonic()
        self._done = False

    async def send(self, message: Message) -> None:
        self._note(message)
        if message["type"] == "http.response.start":
            # Before anything leaves: a 204 or HEAD answer is complete with its headers.
            self.finish()
        await self.raw(message)

    async def swallow(self, message: Message) -> None:
        """Let the app answer into the void (its status is still noted)."""
        self._note(message)

    def _note(self, message: Message) -> None:
        # The first status wins: for faults after processing, that is the app's own answer.
        if message["type"] == "http.response.start" and self.status is None:
            self.status = int(message["status"])

    def finish(self) -> None:
        if self._done:
            return
        self._done = True
        method = str(self._scope["method"]).upper()
        # A simulator may say whether this request was a write, where the method cannot
        # (Jira searches by POST, GraphQL queries and mutations share one path): it sets
        # scope["state"]["sandbox_write"] (Starlette: `request.state.sandbox_write = False`).
        declared = self._scope.get("state", {}).get(WRITE_STATE_KEY)
        self._log.append(
            LoggedRequest(
                seq=self._seq,
                method=method,
                path=str(self._scope["path"]),
                query=bytes(self._scope.get("query_string", b"")).decode("latin-1"),
                status=self.status,
                started=self._started,
                duration=time.monotonic() - self._started,
                is_write=declared if isinstance(declared, bool) else is_write(method),
                fault=self.fault,
                processed=self.fault is None or self.fault.processes_request,
            )
        )


class SandboxMiddleware:
    """Latency, fault injection and a request log around any ASGI app.

    `latency` and `faults` may be reassigned at any time (from any thread); assigning a plan
    restarts its numbering and random sequence.
    """

    def __init__(
        self, app: ASGIApp, *, latency: Latency | None = None, faults: FaultPlan | None = None
    ) -> None:
        self.app = app
        self.log = RequestLog()
        self._closing = threading.Event()
        self._latency = Latency()
        self._latency_rng = random.Random(0)
        self._decider: FaultDecider | None = None
        self.latency = latency or Latency()
        self.faults = faults

    @property
    def latency(self) -> Latency:
        return self._latency

    @latency.setter
    def latency(self, value: Latency) -> None:
        self._latency_rng = random.Random(value.seed)
        self._latency = value

    @property
    def faults(self) -> FaultPlan | None:
        decider = self._decider
        return decider.plan if decider else None

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        self._decider = FaultDecider(plan) if plan is not None else None

    @property
    def faults_injected(self) -> int:
        """Faults the current plan has injected so far."""
        decider = self._decider
        return decider.injected if decider else 0

    def reset(self) -> None:
        """No latency, no faults, empty log: a clean slate between tests."""
        self.latency = Latency()
        self.faults = None
        self.log.clear()

    def close(self) -> None:
        """Make held requests (timeouts that wait for the client) end now, for shutdown."""
        self._closing.set()

    def reopen(self) -> None:
        """Undo `close` before serving again."""
        self._closing.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(self.log, scope, send)
        try:
            await self._delay()
            decider = self._decider
            path = str(scope["path"])
            exchange.fault = decider.decide(str(scope["method"]), path) if decider else None
            if exchange.fault is None:
                await self.app(scope, receive, exchange.send)
            else:
                await self._inject(exchange.fault, scope, receive, exchange)
        finally:
            exchange.finish()

    def next_delay(self) -> float:
        """Draw the added delay, in seconds, for the next request."""
        latency = self._latency
        if latency.ms <= 0 and latency.jitter_ms <= 0:
            return 0.0
        jitter = self._latency_rng.uniform(-latency.jitter_ms, latency.jitter_ms)
        return max(0.0, latency.ms + jitter) / 1000

    async def _delay(self) -> None:
        delay = self.next_delay()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _inject(
        self, fault: FaultKind, scope: Scope, receive: Receive, exchange: _Exchange
    ) -> None:
        plan = self._decider.plan if self._decider else None
        timeout = plan.timeout_seconds if plan else None
        if fault.processes_request:
            await self.app(scope, receive, exchange.swallow)
        if fault in (FaultKind.CONNECTION_RESET, FaultKind.LOST_RESPONSE):
            exchange.finish()
            await _reset(exchange.raw)
        elif fault in (FaultKind.TIMEOUT, FaultKind.AFTER_PROCESSING_TIMEOUT):
            if await self._hold(receive, timeout):
                await _respond(exchange.send, 504, _error_body(504, "Gateway Timeout"))
            elif self._closing.is_set():
                exchange.finish()
            await _reset(exchange.raw)
        elif fault is FaultKind.TRUNCATED_JSON:
            await _respond(exchange.send, 200, _TRUNCATED_BODY)
        else:
            status = int(fault.value)
            headers = []
            if fault is FaultKind.RATE_LIMITED and plan and plan.retry_after is not None:
                headers.append((b"retry-after", str(plan.retry_after).encode()))
            await _respond(exchange.send, status, _error_body(status, _REASONS[fault]), headers)

    async def _hold(self, receive: Receive, timeout: float | None) -> bool:
        """Answer nothing for `timeout` seconds (None: forever). True if the client is still
        waiting at the end; False if it disconnected or the server is closing."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self._closing.is_set():
            step = _POLL_SECONDS if deadline is None else min(_POLL_SECONDS, deadline - loop.time())
            if step <= 0:
                return True
            try:
                message = await asyncio.wait_for(receive(), step)
            except TimeoutError:
                continue
            if message["type"] == "http.disconnect":
                return False
        return False


def _error_body(status: int, reason: str) -> bytes:
    return json.dumps({"message": f"sandbox fault: {status} {reason}"}).encode()


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    all_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


class _ConnectionDroppedError(Exception):
    """Raised after a partial response when the server's transport is out of reach."""


async def _reset(send: Send) -> None:
    """Drop the connection without a response (a TCP reset where possible).

    ASGI has no "abort" message. Under uvicorn, `send` is bound to the request cycle that owns
    the asyncio transport; aborting it with SO_LINGER=0 makes the client see a reset. Elsewhere,
    start a response and fail mid-body so the server closes the connection.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if isinstance(transport, asyncio.Transport):
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        await asyncio.sleep(0)  # let the server notice `connection_lost` before we return
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"1024")],
        }
    )
    raise _ConnectionDroppedError("sandbox fault: connection dropped")
