"""The request log and added latency, seen through real HTTP requests."""

from __future__ import annotations

import asyncio
import threading

import httpx
from sandbox_example import ItemsSimulator

from okrbridge.sandbox import Latency, SandboxMiddleware, SandboxServer


def test_log_records_each_request_in_order(server: SandboxServer, client: httpx.Client) -> None:
    client.get("/items", params={"page": "2"})
    client.post("/items", json={"title": "a"})
    client.get("/missing")

    logged = server.log.snapshot()

    assert [(r.method, r.path, r.query, r.status, r.is_write) for r in logged] == [
        ("GET", "/items", "page=2", 200, False),
        ("POST", "/items", "", 201, True),
        ("GET", "/missing", "", 404, False),
    ]
    assert [r.seq for r in logged] == sorted({r.seq for r in logged})
    assert all(r.fault is None and r.processed for r in logged)
    assert logged[0].started <= logged[1].started <= logged[2].started


def test_count_filters(server: SandboxServer, client: httpx.Client) -> None:
    for title in ("a", "b"):
        client.post("/items", json={"title": title})
    client.get("/items")
    client.get("/other")
    client.options("/items")

    log = server.log
    assert log.count() == 5
    assert log.count("post") == 2
    assert log.count(path_prefix="/items") == 4
    assert log.count("GET", "/items") == 1
    assert log.count(writes_only=True) == 2
    assert len(log) == 5

    log.clear()
    assert log.count() == 0
    client.get("/items")
    assert log.count("GET") == 1


def test_an_app_can_declare_a_post_a_read(server: SandboxServer, client: httpx.Client) -> None:
    client.post("/items", json={"title": "alpha"})
    found = client.post("/items/search", json={"title": "alp"}).json()

    assert [item["title"] for item in found] == ["alpha"]
    assert [(r.path, r.is_write) for r in server.log.snapshot()] == [
        ("/items", True),
        ("/items/search", False),
    ]
    assert server.log.count(writes_only=True) == 1


def test_log_is_complete_under_concurrent_clients(
    server: SandboxServer, sim: ItemsSimulator
) -> None:
    def worker(index: int) -> None:
        with httpx.Client(base_url=server.url, trust_env=False) as http:
            for n in range(5):
                http.post("/items", json={"title": f"{index}-{n}"})

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert server.log.count("POST", writes_only=True, processed_only=True) == 20
    assert len({r.seq for r in server.log.snapshot()}) == 20
    assert len(sim.items) == 20


def test_latency_delays_each_request_without_serialising_them(server: SandboxServer) -> None:
    server.latency = Latency(ms=150)

    async def burst() -> None:
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as http:
            await asyncio.gather(*(http.get("/items") for _ in range(4)))

    asyncio.run(burst())

    logged = server.log.snapshot()
    assert len(logged) == 4
    assert all(r.duration >= 0.149 for r in logged)
    # All four were in flight at once: each started before the first one finished.
    first_end = min(r.started + r.duration for r in logged)
    assert all(r.started < first_end for r in logged)


def test_jitter_is_bounded_and_reproducible() -> None:
    def draws(seed: int) -> list[float]:
        middleware = SandboxMiddleware(ItemsSimulator().app)
        middleware.latency = Latency(ms=50, jitter_ms=20, seed=seed)
        return [middleware.next_delay() for _ in range(50)]

    first = draws(5)

    assert first == draws(5)
    assert first != draws(6)
    assert all(0.030 <= delay <= 0.070 for delay in first)
    assert len(set(first)) > 1


def test_no_latency_means_no_delay() -> None:
    middleware = SandboxMiddleware(ItemsSimulator().app)
    assert middleware.next_delay() == 0.0
    middleware.latency = Latency(ms=5, jitter_ms=50)
    assert min(middleware.next_delay() for _ in range(200)) == 0.0
