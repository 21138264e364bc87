"""Serve a simulator on loopback, in a background thread, behind `SandboxMiddleware`.

with SandboxServer(tool.app, latency=Latency(ms=20)) as server:
    client = httpx.Client(base_url=server.url)
    server.faults = FaultPlan("429", on_requests=[1])
    ...
    assert server.log.count("POST", writes_only=True) == 1
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Self

import uvicorn

from okrbridge.sandbox._asgi import ASGIApp
from okrbridge.sandbox.faults import FaultPlan
from okrbridge.sandbox.middleware import Latency, SandboxMiddleware
from okrbridge.sandbox.requestlog import RequestLog

__all__ = ["SandboxServer", "serve_many"]

HOST = "127.0.0.1"


class SandboxServer:
    """One ASGI app served by uvicorn on 127.0.0.1 (port 0: any free port), as a context manager.

    The app is wrapped in a `SandboxMiddleware` (or used as is if it already is one); its
    `faults`, `latency` and `log` are reachable directly on the server.
    """

    def __init__(
        self,
        app: ASGIApp | SandboxMiddleware | Any,
        *,
        port: int = 0,
        latency: Latency | None = None,
        faults: FaultPlan | None = None,
        start_timeout: float = 5.0,
    ) -> None:
        if isinstance(app, SandboxMiddleware):
            self.middleware = app
            if latency is not None:
                app.latency = latency
            if faults is not None:
                app.faults = faults
        else:
            self.middleware = SandboxMiddleware(app, latency=latency, faults=faults)
        self._port = port
        self._bound: int | None = None
        self._start_timeout = start_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # -- what tests use ------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL such as `http://127.0.0.1:54321` (no trailing slash)."""
        return f"http://{HOST}:{self.port}"

    @property
    def port(self) -> int:
        """The bound port (still known after `stop`)."""
        if self._bound is None:
            raise RuntimeError("the sandbox server is not running")
        return self._bound

    @property
    def log(self) -> RequestLog:
        return self.middleware.log

    @property
    def faults(self) -> FaultPlan | None:
        return self.middleware.faults

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        self.middleware.faults = plan

    @property
    def latency(self) -> Latency:
        return self.middleware.latency

    @latency.setter
    def latency(self, value: Latency) -> None:
        self.middleware.latency = value

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> Self:
        """Bind, start serving in a daemon thread and wait until uvicorn accepts connections."""
        if self._server is not None:
            raise RuntimeError("the sandbox server is already running")
        self.middleware.reopen()
        sock = _bind(self._port)
        self._bound = self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.middleware,
            log_config=None,  # never reconfigure the host program's logging
            log_level=None,
            access_log=False,
            lifespan="auto",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = server = uvicorn.Server(config)
        self._error = None
        self._thread = threading.Thread(
            target=self._run, args=(server, sock), name=f"sandbox-{self._port}", daemon=True
        )
        self._thread.start()
        self._wait_started(server, sock)
        return self

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # e.g. SystemExit from a failed lifespan startup
            self._error = exc

    def _wait_started(self, server: uvicorn.Server, sock: socket.socket) -> None:
        deadline = time.monotonic() + self._start_timeout
        while not server.started:
            thread = self._thread
            if thread is None or not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError(f"sandbox server did not start: {self._error!r}")
            time.sleep(0.002)

    def request_stop(self) -> None:
        """Ask the server to stop without waiting (see `stop`)."""
        self.middleware.close()
        if self._server is not None:
            self._server.should_exit = True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and join the thread; forces the exit if a graceful one takes too long."""
        self.request_stop()
        thread, server = self._thread, self._server
        if thread is not None and server is not None:
            thread.join(timeout)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError(f"sandbox server on port {self._port} did not stop")
        self._thread = None
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _bind(port: int) -> socket.socket:
    # Binding here (not in uvicorn) gives the real port of port 0 before the thread starts.
    # The explicit IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto says TCP, and without it Nagle + delayed ACKs add ~40 ms to every response.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.contextmanager
def serve_many(
    apps: Mapping[str, ASGIApp | SandboxMiddleware | Any],
    *,
    latency: Latency | None = None,
) -> Iterator[dict[str, SandboxServer]]:
    """Serve several apps at once, each on its own port; yields name -> server.

    All are stopped together on exit (stop requested for all first, so they wind down in
    parallel)."""
    servers: dict[str, SandboxServer] = {}
    try:
        for name, app in apps.items():
            servers[name] = SandboxServer(app, latency=latency).start()
        yield servers
    finally:
        for server in servers.values():
            server.request_stop()
        for server in servers.values():
            server.stop()
