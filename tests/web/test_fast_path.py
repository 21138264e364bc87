"""The webhook hot path (plain ASGI, in front of FastAPI) and the documented FastAPI route
answer alike; the hot path takes only `POST /webhooks/{instance}` and hands the rest on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from okrbridge.web.receiver import WebhookReceiver, webhook_router
from tests.web.conftest import CAP, Web, delivery, inbox_rows, sign


@pytest.fixture(params=["hot path", "fastapi route"])
def client(request: pytest.FixtureRequest, web: Web) -> Iterator[TestClient]:
    if request.param == "hot path":
        yield web.client
        return
    app = FastAPI()  # the route alone, as FastAPI serves it
    app.include_router(webhook_router(WebhookReceiver(web.state)))
    with TestClient(app, raise_server_exceptions=False) as routed:
        yield routed


def test_both_entries_store_refuse_and_cap_alike(web: Web, client: TestClient) -> None:
    body = delivery("F1")
    first = client.post("/webhooks/mem", content=body, headers=sign(body))
    again = client.post("/webhooks/mem", content=body, headers=sign(body))
    assert (first.status_code, first.json()) == (202, {"status": "accepted", "delivery": "F1"})
    assert (again.status_code, again.json()) == (202, {"status": "duplicate", "delivery": "F1"})
    assert first.headers["content-type"] == "application/json"
    assert client.post("/webhooks/mem", content=body, headers=sign(body, "x")).status_code == 401
    assert client.post("/webhooks/mem", content=b"{}", headers=sign(b"{}")).status_code == 400
    assert client.post("/webhooks/nope", content=body, headers=sign(body)).status_code == 404
    big = body + b" " * CAP
    assert client.post("/webhooks/mem", content=big, headers=sign(big)).status_code == 413
    assert inbox_rows(web.store) == [("F1", body)]
    metrics = web.client.get("/metrics").text
    assert 'okrbridge_webhook_requests_total{code="202",instance="mem"} 2.0' in metrics
    assert 'okrbridge_webhook_requests_total{code="404",instance="unknown"} 1.0' in metrics


@pytest.mark.parametrize(
    ("method", "path", "root", "expected"),
    [
        ("POST", "/webhooks/gh", "", "gh"),
        ("POST", "/api/webhooks/gh", "/api", "gh"),
        ("GET", "/webhooks/gh", "", None),
        ("HEAD", "/webhooks/gh", "", None),
        ("POST", "/webhooks/", "", None),
        ("POST", "/webhooks/gh/", "", None),
        ("POST", "/webhooks/a/b", "", None),
        ("POST", "/webhooksgh", "", None),
        ("POST", "/healthz", "", None),
    ],
)
def test_hot_path_takes_only_post_to_one_instance(
    method: str, path: str, root: str, expected: str | None
) -> None:
    scope = {"type": "http", "method": method, "path": path, "root_path": root}
    assert WebhookReceiver.instance_of(scope) == expected
    assert WebhookReceiver.instance_of({"type": "websocket", "path": path}) is None


def test_requests_the_hot_path_leaves_get_fastapi_answers(web: Web) -> None:
    assert web.client.post("/webhooks/mem/x", content=b"{}").status_code == 404
    assert web.client.patch("/webhooks/mem", content=b"{}").status_code == 405
    redirect = web.client.post("/webhooks/mem/", content=b"{}", follow_redirects=False)
    assert redirect.status_code == 307  # FastAPI's trailing-slash redirect, as before


def test_peer_leaving_mid_body_stores_nothing(web: Web) -> None:
    body = delivery("F2")
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": body[:10], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/webhooks/mem", "root_path": "",
        "scheme": "http", "server": ("127.0.0.1", 8080), "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in sign(body).items()],
    }  # fmt: skip
    receiver = WebhookReceiver(web.state)
    asyncio.run(receiver.asgi(scope, receive, send, "mem"))
    assert sent[0]["status"] == 400
    assert inbox_rows(web.store) == []


def test_connector_sees_the_request_url_as_starlette_builds_it(web: Web) -> None:
    seen: list[str] = []
    connector = web.state.connectors["mem"]
    original = connector.verify_webhook

    def spy(request: Any) -> bool:
        seen.append(request.url)
        return original(request)

    connector.verify_webhook = spy  # type: ignore[method-assign]
    body = delivery("F3")
    web.client.post("/webhooks/mem?x=1", content=body, headers=sign(body))
    assert seen == ["http://testserver/webhooks/mem?x=1"]
