"""WebhookForwarder: exact bytes and headers to a loopback receiver, off the request path."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import Iterator

import httpx
import pytest
from sandbox_example import WEBHOOK_SECRET, ItemsSimulator, Receiver

from okrbridge.sandbox import (
    FaultPlan,
    Latency,
    SandboxServer,
    WebhookForwarder,
    ensure_loopback_url,
)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, SandboxServer]]:
    app = Receiver()
    with SandboxServer(app) as server:
        yield app, server


@pytest.fixture
def forwarder() -> Iterator[WebhookForwarder]:
    with WebhookForwarder(timeout=2.0) as sink:
        yield sink


def test_simulator_changes_reach_the_receiver_byte_for_byte(
    server: SandboxServer,
    client: httpx.Client,
    sim: ItemsSimulator,
    receiver: tuple[Receiver, SandboxServer],
    forwarder: WebhookForwarder,
) -> None:
    app, receiving = receiver
    sim.set_webhook_sink(f"{receiving.url}/hooks/items", forwarder)

    client.post("/items", json={"title": 'né "quoted"'})
    sim.set_labels("1", ("okr:on-track",))

    assert forwarder.flush(5)
    assert [d.status for d in forwarder.deliveries] == [204, 204]
    assert [r.path for r in receiving.log.snapshot()] == ["/hooks/items"] * 2
    for (headers, body), sent in zip(app.received, forwarder.deliveries, strict=True):
        assert body == sent.body
        expected = hmac.new(WEBHOOK_SECRET, body, hashlib.sha256).hexdigest()
        assert headers["x-items-signature"] == f"sha256={expected}"
        assert headers["content-type"] == "application/json"
        assert headers["content-length"] == str(len(body))
    events = [json.loads(body)["event"] for _, body in app.received]
    assert events == ["item_created", "item_updated"]


def test_arbitrary_headers_and_bytes_are_sent_unchanged(
    receiver: tuple[Receiver, SandboxServer], forwarder: WebhookForwarder
) -> None:
    app, receiving = receiver
    body = bytes(range(256))
    headers = {"X-Hub-Signature-256": "sha256=abc", "User-Agent": "GitHub-Hookshot/sandbox"}

    forwarder(f"{receiving.url}/gh", headers, body)

    assert forwarder.flush(5)
    ((got_headers, got_body),) = app.received
    assert got_body == body
    assert got_headers["x-hub-signature-256"] == "sha256=abc"
    assert got_headers["user-agent"] == "GitHub-Hookshot/sandbox"


def test_calling_the_sink_does_not_wait_for_the_delivery(
    receiver: tuple[Receiver, SandboxServer], forwarder: WebhookForwarder
) -> None:
    _, receiving = receiver
    receiving.latency = Latency(ms=300)

    forwarder(f"{receiving.url}/slow", {}, b"{}")

    assert forwarder.deliveries == []
    assert forwarder.flush(5)
    assert [d.status for d in forwarder.deliveries] == [204]


def test_deliveries_keep_their_order(
    receiver: tuple[Receiver, SandboxServer], forwarder: WebhookForwarder
) -> None:
    app, receiving = receiver
    for n in range(10):
        forwarder(f"{receiving.url}/h", {}, str(n).encode())

    assert forwarder.flush(5)
    assert [body for _, body in app.received] == [str(n).encode() for n in range(10)]


def test_failures_are_recorded(
    receiver: tuple[Receiver, SandboxServer], forwarder: WebhookForwarder
) -> None:
    app, receiving = receiver
    app.status = 500
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        closed_port = spare.getsockname()[1]

    forwarder(f"{receiving.url}/h", {}, b"a")
    forwarder(f"http://127.0.0.1:{closed_port}/h", {}, b"b")
    assert forwarder.flush(5)
    receiving.faults = FaultPlan("connection_reset", rate=1.0)
    forwarder(f"{receiving.url}/h", {}, b"c")

    assert forwarder.flush(5)
    first, second, third = forwarder.deliveries
    assert (first.status, first.error, first.ok) == (500, None, False)
    assert second.status is None
    assert (second.error or "").startswith("ConnectError")
    assert third.status is None
    assert third.error
    assert forwarder.succeeded == []
    assert len(forwarder.failed) == 3


def test_flush_reports_a_timeout(receiver: tuple[Receiver, SandboxServer]) -> None:
    _, receiving = receiver
    receiving.faults = FaultPlan("timeout", rate=1.0, timeout_seconds=None)
    forwarder = WebhookForwarder(timeout=0.5)
    forwarder(f"{receiving.url}/h", {}, b"x")

    assert forwarder.flush(0.05) is False
    assert forwarder.flush(5) is True
    assert forwarder.deliveries[0].error is not None
    forwarder.close()
    with pytest.raises(RuntimeError, match="closed"):
        forwarder(f"{receiving.url}/h", {}, b"x")


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://10.0.0.1/hook",
        "http://169.254.169.254/latest",
        "http://localhost.example.com/",
        "ftp://127.0.0.1/hook",
        "file:///etc/passwd",
        "not a url",
    ],
)
def test_non_loopback_targets_are_refused(url: str, forwarder: WebhookForwarder) -> None:
    with pytest.raises(ValueError, match="webhook target"):
        forwarder(url, {}, b"{}")
    assert forwarder.flush(1)
    assert forwarder.deliveries == []


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/h", "http://127.1.2.3/h", "http://localhost:9/h", "http://[::1]:9/"],
)
def test_loopback_targets_are_accepted(url: str) -> None:
    assert ensure_loopback_url(url) == url
