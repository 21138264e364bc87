"""Serving: URL and port, lifespan pass-through, several servers, clean stops."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import AsyncIterator

import httpx
import pytest
from sandbox_example import ItemsSimulator
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from okrbridge.sandbox import FaultPlan, SandboxMiddleware, SandboxServer, serve_many


def _sandbox_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sandbox-")]


def test_serves_on_loopback_and_stops_without_leaking_a_thread() -> None:
    before = len(_sandbox_threads())
    sim = ItemsSimulator()

    with SandboxServer(sim.app) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.port > 0
        response = httpx.post(f"{server.url}/items", json={"title": "a"}, trust_env=False)
        assert response.status_code == 201
        assert server.running

    assert not server.running
    assert len(_sandbox_threads()) == before
    assert sim.items["1"]["title"] == "a"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/items", trust_env=False)


def test_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = SandboxServer(ItemsSimulator().app).url


def test_a_fixed_port_can_be_reused_right_after_stop() -> None:
    with SandboxServer(ItemsSimulator().app) as first:
        port = first.port
    with SandboxServer(ItemsSimulator().app, port=port) as second:
        assert second.port == port
        assert httpx.get(f"{second.url}/items", trust_env=False).json() == []


def test_a_taken_port_fails_to_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="in use"):
            SandboxServer(ItemsSimulator().app, port=taken.getsockname()[1]).start()


def test_lifespan_reaches_the_app() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app = Starlette(routes=[Route("/", hello)], lifespan=lifespan)
    with SandboxServer(app) as server:
        assert events == ["startup"]
        assert httpx.get(server.url, trust_env=False).text == "hi"
    assert events == ["startup", "shutdown"]


def test_a_failing_startup_is_reported_and_leaves_no_thread() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("boom")
        yield

    before = len(_sandbox_threads())
    with pytest.raises(RuntimeError, match="did not start"):
        SandboxServer(Starlette(lifespan=lifespan)).start()
    assert len(_sandbox_threads()) == before


def test_a_prepared_middleware_is_served_as_is() -> None:
    middleware = SandboxMiddleware(ItemsSimulator().app, faults=FaultPlan(503, rate=1.0))
    with SandboxServer(middleware) as server:
        assert server.middleware is middleware
        assert httpx.get(f"{server.url}/items", trust_env=False).status_code == 503
    assert middleware.log.count() == 1


def test_stop_ends_a_request_that_is_held_forever() -> None:
    server = SandboxServer(ItemsSimulator().app, faults=FaultPlan("timeout", rate=1.0))
    server.faults = FaultPlan("timeout", rate=1.0, timeout_seconds=None)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            httpx.get(f"{server.url}/items", timeout=30, trust_env=False)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    with server:
        caller = threading.Thread(target=call)
        caller.start()
        while server.middleware.faults_injected == 0:
            threading.Event().wait(0.01)

    caller.join(10)
    assert not caller.is_alive()
    assert isinstance(outcome[0], httpx.ReadError | httpx.RemoteProtocolError)


def test_serve_many_serves_each_app_on_its_own_port() -> None:
    sims = {name: ItemsSimulator() for name in ("jira", "github", "trello")}
    before = len(_sandbox_threads())

    with serve_many({name: sim.app for name, sim in sims.items()}) as servers:
        assert len({server.port for server in servers.values()}) == 3
        for name, server in servers.items():
            httpx.post(f"{server.url}/items", json={"title": name}, trust_env=False)
        assert len(_sandbox_threads()) == before + 3

    assert len(_sandbox_threads()) == before
    assert {name: [i["title"] for i in sim.items.values()] for name, sim in sims.items()} == {
        "jira": ["jira"],
        "github": ["github"],
        "trello": ["trello"],
    }
    assert all(server.log.count("POST") == 1 for server in servers.values())
