"""Observable, bounded logging at the edge: one structured line per rejected or ignored
delivery (reason, instance, delivery id), rate-limited per reason with a suppressed count,
and no traceback for bad input (deeply nested JSON is a 400, never a RecursionError)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from okrbridge.logs import Throttle, configure_logging
from tests.web.conftest import Web, delivery, sign


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO, event: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [r for r in records if r["event"] == event]


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rejections_are_logged_once_each_then_throttled_with_a_count(
    web: Web, stream: io.StringIO
) -> None:
    clock = Clock()
    web.client.app.receiver.throttle = Throttle(limit=3, window=60.0, clock=clock)  # type: ignore[attr-defined]
    body = delivery("R1")
    for _ in range(5):
        assert (
            web.client.post("/webhooks/mem", content=body, headers=sign(body, "no")).status_code
            == 401
        )
    rejected = lines(stream, "webhook rejected")
    assert [(r["reason"], r["connector"], r["status"]) for r in rejected] == [
        ("bad or missing signature", "mem", 401)
    ] * 3
    assert web.client.post("/webhooks/nope", content=body).status_code == 404  # its own budget
    clock.now = 61.0
    web.client.post("/webhooks/mem", content=body, headers=sign(body, "no"))
    rejected = lines(stream, "webhook rejected")
    assert rejected[3]["reason"] == "unknown connector instance"
    assert rejected[3]["connector"] == "nope"
    assert rejected[4]["suppressed"] == 2
    assert "Traceback" not in stream.getvalue()


def test_ignored_delivery_is_logged_with_its_id_and_event(web: Web, stream: io.StringIO) -> None:
    body = json.dumps({"event": "board.renamed", "delivery": "I1", "task": {"id": "T1"}}).encode()
    response = web.client.post("/webhooks/mem", content=body, headers=sign(body))
    assert (response.status_code, response.json()) == (202, {"status": "ignored"})
    (line,) = lines(stream, "webhook ignored")
    assert (line["delivery"], line["tool_event"], line["reason"]) == (
        "I1",
        "board.renamed",
        "event not handled",
    )


def test_deeply_nested_json_is_400_with_one_line_and_no_traceback(
    web: Web, stream: io.StringIO
) -> None:
    body = b"[" * 200_000 + b"]" * 200_000
    web.state.config.web.max_body_bytes  # noqa: B018 - the cap is raised below for this body
    web.client.app.receiver.cap = len(body)  # type: ignore[attr-defined]
    response = web.client.post("/webhooks/mem", content=body, headers=sign(body))
    assert response.status_code == 400
    (line,) = lines(stream, "webhook rejected")
    assert "RecursionError" in line["reason"]
    assert "Traceback" not in stream.getvalue()


def test_a_connector_that_raises_while_screening_gives_400_and_no_traceback(
    web: Web, stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(request: object) -> object:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(web.state.connectors["mem"], "screen_webhook", broken)
    body = delivery("B1")
    assert web.client.post("/webhooks/mem", content=body, headers=sign(body)).status_code == 400
    (line,) = lines(stream, "webhook rejected")
    assert line["reason"] == "not a memory delivery: screening raised RecursionError"
    assert "Traceback" not in stream.getvalue()
