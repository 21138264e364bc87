"""Each fault kind as an httpx client sees it, and what it does (not) do to the tool's state."""

from __future__ import annotations

import json

import httpx
import pytest
from sandbox_example import ItemsSimulator

from okrbridge.sandbox import FaultKind, FaultPlan, SandboxServer

BEFORE_PROCESSING_STATUS = [
    ("429", 429),
    ("500", 500),
    ("502", 502),
    ("503", 503),
    ("truncated_json", 200),
]


@pytest.mark.parametrize(("kind", "status"), BEFORE_PROCESSING_STATUS)
def test_status_faults_answer_without_touching_the_tool(
    server: SandboxServer, client: httpx.Client, sim: ItemsSimulator, kind: str, status: int
) -> None:
    server.faults = FaultPlan(kind, on_requests=[1])

    response = client.post("/items", json={"title": "a"})

    assert response.status_code == status
    assert sim.items == {}
    assert sim.write_count() == 0
    (logged,) = server.log.snapshot()
    assert (logged.fault, logged.processed, logged.status) == (FaultKind(kind), False, status)


def test_truncated_json_is_a_200_whose_body_does_not_parse(
    server: SandboxServer, client: httpx.Client
) -> None:
    server.faults = FaultPlan(FaultKind.TRUNCATED_JSON, on_requests=[1])

    response = client.get("/items")

    assert response.headers["content-type"] == "application/json"
    assert len(response.content) == int(response.headers["content-length"])
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_429_carries_retry_after_as_configured(server: SandboxServer, client: httpx.Client) -> None:
    server.faults = FaultPlan(429, on_requests=[1], retry_after=7)
    assert client.get("/items").headers["retry-after"] == "7"

    server.faults = FaultPlan(429, on_requests=[1], retry_after=None)
    response = client.get("/items")
    assert response.status_code == 429
    assert "retry-after" not in response.headers


def test_connection_reset_gives_a_transport_error_and_no_write(
    server: SandboxServer, client: httpx.Client, sim: ItemsSimulator
) -> None:
    server.faults = FaultPlan("connection_reset", on_requests=[1])

    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.post("/items", json={"title": "a"})

    assert sim.items == {}
    (logged,) = server.log.snapshot()
    assert (logged.status, logged.processed) == (None, False)
    # The client recovers on a fresh connection.
    assert client.get("/items").status_code == 200


def test_lost_response_processes_the_write_but_the_client_sees_an_error(
    server: SandboxServer, client: httpx.Client, sim: ItemsSimulator
) -> None:
    server.faults = FaultPlan("lost_response", on_requests=[1])

    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.post("/items", json={"title": "uncertain"})

    assert [item["title"] for item in sim.items.values()] == ["uncertain"]
    assert sim.write_count() == 1
    (logged,) = server.log.snapshot()
    assert (logged.fault, logged.processed, logged.status) == (FaultKind.LOST_RESPONSE, True, 201)


def test_after_processing_timeout_processes_the_write_and_times_the_client_out(
    server: SandboxServer, client: httpx.Client, sim: ItemsSimulator
) -> None:
    server.faults = FaultPlan("after_processing_timeout", on_requests=[1], timeout_seconds=None)

    with pytest.raises(httpx.ReadTimeout):
        client.post("/items", json={"title": "uncertain"}, timeout=0.3)

    assert [item["title"] for item in sim.items.values()] == ["uncertain"]


def test_timeout_answers_504_after_the_configured_silence(
    server: SandboxServer, client: httpx.Client, sim: ItemsSimulator
) -> None:
    server.faults = FaultPlan("timeout", on_requests=[1], timeout_seconds=0.2)

    response = client.post("/items", json={"title": "a"}, timeout=2.0)

    assert response.status_code == 504
    assert sim.items == {}
    (logged,) = server.log.snapshot()
    assert logged.duration >= 0.19


def test_timeout_without_limit_holds_until_the_client_gives_up(
    server: SandboxServer, client: httpx.Client, sim: ItemsSimulator
) -> None:
    server.faults = FaultPlan("timeout", on_requests=[1], timeout_seconds=None)

    with pytest.raises(httpx.ReadTimeout):
        client.post("/items", json={"title": "a"}, timeout=0.3)

    assert sim.items == {}
    assert client.get("/items").json() == []


def test_on_requests_counts_only_matching_requests(
    server: SandboxServer, client: httpx.Client, sim: ItemsSimulator
) -> None:
    server.faults = FaultPlan(503, on_requests=[2], methods=["post"], path_prefixes=["/items"])

    statuses = [
        client.get("/items").status_code,
        client.post("/items", json={"title": "first"}).status_code,
        client.get("/items").status_code,
        client.post("/items", json={"title": "second"}).status_code,
        client.post("/items", json={"title": "third"}).status_code,
    ]

    assert statuses == [200, 201, 200, 503, 201]
    assert [item["title"] for item in sim.items.values()] == ["first", "third"]
    assert server.log.count("POST", processed_only=True) == 2


def test_path_prefix_filter_spares_other_paths(server: SandboxServer, client: httpx.Client) -> None:
    server.faults = FaultPlan(500, rate=1.0, path_prefixes=["/other"])

    assert client.get("/items").status_code == 200
    assert client.get("/other").status_code == 500
    assert server.middleware.faults_injected == 1


def _faulted_seqs(server: SandboxServer, client: httpx.Client, plan: FaultPlan) -> list[int]:
    server.middleware.reset()
    server.faults = plan
    for _ in range(40):
        client.get("/items")
    return [item.seq for item in server.log.snapshot() if item.fault is not None]


def test_rate_faults_are_reproducible_from_the_seed(
    server: SandboxServer, client: httpx.Client
) -> None:
    first = _faulted_seqs(server, client, FaultPlan(500, rate=0.3, seed=11))
    again = _faulted_seqs(server, client, FaultPlan(500, rate=0.3, seed=11))
    other = _faulted_seqs(server, client, FaultPlan(500, rate=0.3, seed=12))

    offsets = [seq - first[0] for seq in first]
    assert 0 < len(first) < 40
    assert [seq - again[0] for seq in again] == offsets
    assert other != first


def test_limit_caps_injected_faults(server: SandboxServer, client: httpx.Client) -> None:
    server.faults = FaultPlan(503, rate=1.0, limit=2)

    statuses = [client.get("/items").status_code for _ in range(4)]

    assert statuses == [503, 503, 200, 200]


def test_several_kinds_are_all_used(server: SandboxServer, client: httpx.Client) -> None:
    server.faults = FaultPlan([429, 502, 503], rate=1.0, seed=3)

    statuses = {client.get("/items").status_code for _ in range(30)}

    assert statuses == {429, 502, 503}


def test_faults_change_at_runtime(server: SandboxServer, client: httpx.Client) -> None:
    server.faults = FaultPlan(500, rate=1.0)
    assert client.get("/items").status_code == 500

    server.faults = None
    assert client.get("/items").status_code == 200


@pytest.mark.parametrize("bad", [{"rate": 1.5}, {"rate": -0.1}, {"timeout_seconds": -1.0}])
def test_plan_rejects_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        FaultPlan(500, **bad)  # type: ignore[arg-type]


def test_plan_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="418"):
        FaultPlan(418)
    with pytest.raises(ValueError, match="at least one"):
        FaultPlan([])
