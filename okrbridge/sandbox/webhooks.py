"""Deliver a simulator's signed webhooks to a loopback receiver, off the request path.

A simulator calls its sink while handling a request; `WebhookForwarder` only queues the
delivery, and a background thread POSTs it with httpx, headers and body bytes exactly as given.
"""

from __future__ import annotations

import ipaddress
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import httpx

__all__ = ["Delivery", "WebhookForwarder", "ensure_loopback_url"]

_Item = tuple[str, dict[str, str], bytes]


def ensure_loopback_url(url: str) -> str:
    """Return `url` if it is http(s) on a loopback host; raise ValueError otherwise.

    The host is judged by its literal text (`localhost` or a loopback IP), never resolved.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"webhook target {url!r} is not a valid URL") from exc
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"webhook target {url!r} must be an http(s) URL")
    host = parsed.host.lower()
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(
                f"webhook target {url!r} is not on loopback; the sandbox only delivers to "
                "localhost, 127.0.0.0/8 or ::1"
            )
    return url


@dataclass(frozen=True)
class Delivery:
    """One attempted delivery: the response status, or the transport error's description."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    status: int | None
    error: str | None
    duration: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookForwarder:
    """A `WebhookSink` that POSTs deliveries from a background thread, in order.

    Pass it to `SimulatedTool.set_webhook_sink(callback_url, forwarder)`. Calling it never
    blocks on the network; `flush` waits until everything queued has been attempted.
    """

    def __init__(self, *, timeout: float = 5.0) -> None:
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._lock = threading.Condition()
        self._pending = 0
        self._deliveries: list[Delivery] = []
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
        self._thread = threading.Thread(target=self._work, name="sandbox-webhooks", daemon=True)
        self._closed = False
        self._thread.start()

    def __call__(self, callback_url: str, headers: Mapping[str, str], body: bytes) -> None:
        """Queue one delivery; refuses non-loopback targets with ValueError."""
        ensure_loopback_url(callback_url)
        if self._closed:
            raise RuntimeError("the webhook forwarder is closed")
        with self._lock:
            self._pending += 1
        self._queue.put((callback_url, dict(headers), bytes(body)))

    @property
    def deliveries(self) -> list[Delivery]:
        """Every attempted delivery so far, in order."""
        with self._lock:
            return list(self._deliveries)

    @property
    def succeeded(self) -> list[Delivery]:
        return [item for item in self.deliveries if item.ok]

    @property
    def failed(self) -> list[Delivery]:
        return [item for item in self.deliveries if not item.ok]

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued delivery was attempted; False if `timeout` passed first."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Finish queued deliveries (up to `timeout`), then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            url, headers, body = item
            delivery = self._post(url, headers, body)
            with self._lock:
                self._deliveries.append(delivery)
                self._pending -= 1
                self._lock.notify_all()

    def _post(self, url: str, headers: dict[str, str], body: bytes) -> Delivery:
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            status = self._client.post(url, headers=headers, content=body).status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        return Delivery(url, headers, body, status, error, time.monotonic() - started)
