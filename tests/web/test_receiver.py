"""The webhook receiver: what is stored, what is refused and how, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

from tests.web.conftest import CAP, Web, delivery, inbox_rows, sign


def test_verified_delivery_is_stored_raw_then_acknowledged(web: Web) -> None:
    body = delivery("D1")
    response = web.client.post("/webhooks/mem", content=body, headers=sign(body))
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "delivery": "D1"}
    assert inbox_rows(web.store) == [("D1", body)]
    assert web.wakes == [1]


def test_redelivery_is_acknowledged_but_stored_once(web: Web) -> None:
    body = delivery("D7")
    for _ in range(3):
        response = web.client.post("/webhooks/mem", content=body, headers=sign(body))
        assert response.status_code == 202
    assert response.json()["status"] == "duplicate"
    assert [row[0] for row in inbox_rows(web.store)] == ["D7"]


def test_bad_or_missing_signature_is_401_without_detail(web: Web) -> None:
    body = delivery("D2")
    for headers in ({}, sign(body, "wrong-secret"), {"x-memory-signature": "sha256=zz"}):
        response = web.client.post("/webhooks/mem", content=body, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized"}
    assert inbox_rows(web.store) == []


def test_signed_but_not_json_is_400(web: Web) -> None:
    for body in (b"{not json", b"[]", b'{"event": "x"}', b""):
        response = web.client.post("/webhooks/mem", content=body, headers=sign(body))
        assert response.status_code == 400, body
    assert inbox_rows(web.store) == []


def test_unknown_instance_404_and_wrong_method_405(web: Web) -> None:
    body = delivery("D3")
    assert web.client.post("/webhooks/nope", content=body, headers=sign(body)).status_code == 404
    assert web.client.get("/webhooks/mem").status_code == 405
    assert web.client.put("/webhooks/mem", content=body).status_code == 405
    assert web.client.head("/webhooks/mem").status_code == 200
    assert web.client.head("/webhooks/nope").status_code == 404


def test_oversized_body_is_413_whether_declared_or_streamed(web: Web) -> None:
    body = delivery("D4") + b" " * CAP
    declared = web.client.post("/webhooks/mem", content=body, headers=sign(body))
    assert declared.status_code == 413

    sent: list[int] = []

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to trust
        for _ in range(100):
            sent.append(1)
            yield b" " * 1024

    streamed = web.client.post("/webhooks/mem", content=chunks(), headers=sign(b""))
    assert streamed.status_code == 413
    assert inbox_rows(web.store) == []


def test_probes_and_metrics(web: Web) -> None:
    body = delivery("D5")
    web.client.post("/webhooks/mem", content=body, headers=sign(body))
    assert web.client.get("/healthz").json() == {"status": "ok"}
    ready = web.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["connectors"]["mem"]["ok"] is True
    metrics = web.client.get("/metrics").text
    assert 'okrbridge_webhook_requests_total{code="202",instance="mem"} 1.0' in metrics
    assert 'okrbridge_inbox_depth{status="pending"} 1.0' in metrics
    assert "okrbridge_webhook_ack_seconds_bucket" in metrics
    assert "/webhooks/{instance}" in web.client.get("/openapi.json").json()["paths"]


def test_readyz_is_503_when_migrations_are_missing(web: Web) -> None:
    from okrbridge.store.db import Store

    web.state.store = Store("sqlite://")  # an empty in-memory database: no schema at all
    response = web.client.get("/readyz")
    assert response.status_code == 503
    assert "migrations pending" in response.json()["store"]


def test_an_overlong_delivery_id_is_stored_as_its_digest_and_still_deduplicated(web: Web) -> None:
    import hashlib

    long_id = "L" * 500
    body = delivery(long_id)
    for expected in ("accepted", "duplicate"):
        response = web.client.post("/webhooks/mem", content=body, headers=sign(body))
        assert (response.status_code, response.json()["status"]) == (202, expected)
    digest = "sha256:" + hashlib.sha256(long_id.encode()).hexdigest()
    assert inbox_rows(web.store) == [(digest, body)]
