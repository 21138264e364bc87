"""Webhook receiver benchmark: signed deliveries into the durable inbox, healthy and tool down.

Part 1, acknowledgement with every tool unreachable (`--ack`, the default): one daemon with an
instance of each tool (GitHub, Jira, Trello and the memory reference connector), deliveries
made and signed by each tool's simulator, `--deliveries` per tool sent at a steady rate; the
p50/p99 time to the 202 with the tools served (healthy), then with every connector's
`base_url` on a closed port (unreachable). The request path must not care: no I/O but the
inbox. (A connector that does not implement `screen_webhook` answers 400: shown as such.)

Part 2, throughput (`--throughput`, the default), signed GitHub `issues.labeled` deliveries:

The daemon's app (receiver + group-committing inbox writer; scheduler and inbox worker off, so
acceptance is measured alone) is served by uvicorn in this process; the load generator runs in
a SEPARATE process on loopback with keep-alive connections and a minimal HTTP/1.1 client.

Figures per store:
  - sustained accepted deliveries per second (as many concurrent senders as `--concurrency`),
  - p50/p99 acknowledgement latency at a steady `--rate` requests per second,
  - inbox rows afterwards vs deliveries accepted (must be equal).

    python bench/bench_webhooks.py [--seconds 5] [--rate 200] [--concurrency 64] [--pg URL]
                                   [--http auto|h11|httptools] [--loop auto|asyncio|uvloop]
                                   [--only ack|throughput] [--deliveries 200] [--ack-rate 100]

Each phase also prints the CPU time per request of the daemon process and of the load
generator: on a small machine both share the cores, so a generator near a full core would
cap the figure it measures.

PostgreSQL uses `--pg` or $OKRBRIDGE_TEST_PG_URL (a private schema, dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FIXTURE = REPO / "tests/connectors/github/fixtures/issues__labeled.json"
SECRET = "bench-webhook-secret"


# -- load generator (runs in a child process) -------------------------------------------------
def _head(port: int, body: bytes, signature: str) -> bytes:
    return (
        f"POST /webhooks/gh HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nX-GitHub-Event: issues\r\n"
        f"X-GitHub-Delivery: {uuid.uuid4()}\r\nX-Hub-Signature-256: {signature}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes) -> int:
    writer.write(req)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def _load(port: int, seconds: float, concurrency: int, rate: float | None) -> dict[str, Any]:
    body = FIXTURE.read_bytes()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    # Heads built before the clock starts (a unique delivery id each): the generator's own
    # cost per request is then a socket write and a parse of the answer's head.
    budget = int(seconds * (rate or 4000)) + concurrency
    heads = [_head(port, body, signature) for _ in range(budget)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    end = time.perf_counter() + seconds
    interval = None if rate is None else concurrency / rate

    async def sender(offset: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        next_at = time.perf_counter() + offset
        while time.perf_counter() < end:
            if interval is not None:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += interval
            started = time.perf_counter()
            head = heads.pop() if heads else _head(port, body, signature)
            status = await _exchange(reader, writer, head + body)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    started, cpu = time.perf_counter(), time.process_time()
    offsets = [0.0 if interval is None else interval * i / concurrency for i in range(concurrency)]
    await asyncio.gather(*(sender(o) for o in offsets))
    return {
        "elapsed": time.perf_counter() - started,
        "latencies": latencies,
        "statuses": statuses,
        "cpu": time.process_time() - cpu,
    }


async def _replay(port: int, requests: list[bytes], rate: float) -> dict[str, Any]:
    """Send prepared requests one connection at a time at a steady `rate`; time each answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    next_at = time.perf_counter()
    for request in requests:
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        next_at += 1 / rate
        started = time.perf_counter()
        status = await _exchange(reader, writer, request)
        latencies.append(time.perf_counter() - started)
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()
    return {"latencies": latencies, "statuses": statuses}


def _replayer(port: int, requests: list[bytes], rate: float, out: Any) -> None:
    out.put(asyncio.run(_replay(port, requests, rate)))


def run_replay(port: int, requests: list[bytes], rate: float) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_replayer, args=(port, requests, rate, out))
    proc.start()
    result: dict[str, Any] = out.get(timeout=len(requests) / rate + 60)
    proc.join(10)
    return result


def _generator(port: int, seconds: float, concurrency: int, rate: float | None, out: Any) -> None:
    try:  # the cheaper loop, when installed, keeps the generator from capping the figure
        import uvloop

        out.put(uvloop.run(_load(port, seconds, concurrency, rate)))
    except ImportError:
        out.put(asyncio.run(_load(port, seconds, concurrency, rate)))


def run_load(port: int, seconds: float, concurrency: int, rate: float | None) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_generator, args=(port, seconds, concurrency, rate, out))
    proc.start()
    cpu = time.process_time()
    result: dict[str, Any] = out.get(timeout=seconds + 60)
    result["server_cpu"] = time.process_time() - cpu  # the daemon's threads, this process
    proc.join(10)
    return result


# -- the daemon side -------------------------------------------------------------------------
def _serve(store_url: str, tool: Any, tool_url: str, args: argparse.Namespace) -> Any:
    import uvicorn

    from okrbridge.config.schema import Config
    from okrbridge.connector.registry import default_registry
    from okrbridge.daemon.runner import Daemon, DaemonOptions
    from okrbridge.store.db import Store
    from okrbridge.store.migrate import upgrade

    store = Store(store_url)
    upgrade(store)
    table = {**tool.settings(tool_url), "webhook_secret_env": "BENCH_GH_SECRET"}
    settings = default_registry().get("github").settings_model(**table)
    config = Config(connectors={"gh": settings})
    env = {**tool.env(), "BENCH_GH_SECRET": SECRET}
    options = DaemonOptions("127.0.0.1", 0, worker=False, scheduler=False)
    daemon = Daemon(config, store, default_registry(), env, options)
    daemon.writer.start()
    server: uvicorn.Server = daemon.server
    if args.http != "daemon":
        server.config.http = args.http
    if args.loop != "daemon":
        server.config.loop = args.loop
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return daemon, thread, port


def _inbox_count(daemon: Any) -> int:
    from sqlalchemy import func, select

    from okrbridge.store.models import InboxRow

    with daemon.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(InboxRow)) or 0)


def bench_store(
    name: str, store_url: str, tool: Any, tool_url: str, args: argparse.Namespace
) -> None:
    daemon, thread, port = _serve(store_url, tool, tool_url, args)
    try:
        run_load(port, 1.0, 4, None)  # warm-up (the connector looks up its bot login once)
        before = _inbox_count(daemon)
        burst = run_load(port, args.seconds, args.concurrency, None)
        steady = run_load(port, args.seconds, 8, args.rate)
        stored = _inbox_count(daemon) - before
    finally:
        daemon.server.should_exit = True
        thread.join(10)
        daemon.writer.stop()
        daemon.store.dispose()
    accepted = burst["statuses"].get(202, 0) + steady["statuses"].get(202, 0)
    lat = sorted(steady["latencies"])
    p50 = statistics.median(lat) * 1000
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000
    print(f"== {name}")
    print(
        f"  sustained: {burst['statuses'].get(202, 0) / burst['elapsed']:,.0f} accepted/s "
        f"({args.concurrency} connections, {burst['elapsed']:.1f} s, statuses {burst['statuses']})"
    )
    print(
        f"  steady {args.rate:.0f}/s: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
        f"({len(lat)} requests, {len(lat) / steady['elapsed']:.0f}/s achieved)"
    )
    for phase, run in (("sustained", burst), ("steady", steady)):
        done = max(1, len(run["latencies"]))
        print(
            f"  CPU per request ({phase}): daemon {run['server_cpu'] / done * 1e3:.2f} ms, "
            f"generator {run['cpu'] / done * 1e3:.2f} ms "
            f"(generator busy {run['cpu'] / run['elapsed']:.0%} of a core)"
        )
    verdict = "OK" if stored == accepted else "MISMATCH"
    print(f"  inbox rows added {stored} == accepted {accepted}: {verdict}")


# -- part 1: acknowledgement, healthy and with every tool unreachable -----------------------
def _closed_port() -> int:
    import socket

    with socket.socket() as sock:  # bound then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tools() -> dict[str, Any]:
    from connectors.github import GitHubConnector
    from connectors.jira import JiraConnector
    from connectors.trello import TrelloConnector
    from connectors.trello.simulator.handle import DEFAULT_BOARD
    from tests.support.memory import MemoryConnector

    return {
        "github": (GitHubConnector, "acme/app"),
        "jira": (JiraConnector, "MKT"),
        "trello": (TrelloConnector, DEFAULT_BOARD),
        "memory": (MemoryConnector, "MKT"),
    }


def _signed_requests(sim: Any, container: str, port: int, instance: str, n: int) -> list[bytes]:
    """`n` deliveries the simulator makes and signs for person edits of a task, as raw HTTP."""
    from okrbridge.domain import StatusCategory
    from okrbridge.sandbox import SeedTask

    path = f"/webhooks/{instance}"
    made: list[tuple[dict[str, str], bytes]] = []
    sim.set_webhook_sink(
        f"http://127.0.0.1:{port}{path}", lambda _url, h, b: made.append((dict(h), b))
    )
    tid = sim.add_task(SeedTask("bench task", container, StatusCategory.TODO, ("reviews",)))
    statuses = [StatusCategory.IN_PROGRESS, StatusCategory.TODO]
    step = 0
    while len(made) < n + 1:
        sim.set_status(tid, statuses[step % 2])
        step += 1
    sim.set_webhook_sink(None, None)
    requests = []
    for headers, body in made[1 : n + 1]:
        head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        head += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
        head.append(f"Content-Length: {len(body)}")
        requests.append(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return requests


def bench_ack(args: argparse.Namespace) -> None:
    from okrbridge.config.schema import Config
    from okrbridge.connector.registry import ConnectorRegistry, default_registry
    from okrbridge.daemon.runner import Daemon, DaemonOptions
    from okrbridge.sandbox import SandboxServer
    from okrbridge.store.db import Store
    from okrbridge.store.migrate import upgrade

    tools = _tools()
    registry = ConnectorRegistry()
    for name, (cls, _) in tools.items():  # the installed class, or the reference connector
        registry.register(cls if name == "memory" else default_registry().get(name))
    rate = f"{args.ack_rate:.0f}/s"
    print(f"== acknowledgement: {args.deliveries} signed deliveries per tool at {rate}")
    print(f"  {'tool':8} {'tools':12} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sims = {name: cls.simulator() for name, (cls, _) in tools.items()}
        servers = {name: stack.enter_context(SandboxServer(sim.app)) for name, sim in sims.items()}
        dead = f"http://127.0.0.1:{_closed_port()}"
        for state in ("healthy", "unreachable"):
            store = Store(f"sqlite:///{tmp / (state + '.sqlite3')}")
            upgrade(store)
            env: dict[str, str] = {}
            connectors = {}
            for name, sim in sims.items():
                url = servers[name].url if state == "healthy" else dead
                connectors[name] = registry.get(name).settings_model(**sim.settings(url))
                env.update(sim.env())
            options = DaemonOptions("127.0.0.1", 0, worker=False, scheduler=False)
            daemon = Daemon(Config(connectors=connectors), store, registry, env, options)
            daemon.writer.start()
            thread = threading.Thread(target=daemon.server.run, daemon=True)
            thread.start()
            while not daemon.server.started:
                time.sleep(0.05)
            port = daemon.server.servers[0].sockets[0].getsockname()[1]
            try:
                for name, (_, container) in tools.items():
                    requests = _signed_requests(sims[name], container, port, name, args.deliveries)
                    run_replay(port, requests[:5], args.ack_rate)  # warm-up (same ids: duplicates)
                    result = run_replay(port, requests, args.ack_rate)
                    lat = sorted(result["latencies"])
                    p50 = statistics.median(lat) * 1000
                    p99 = lat[max(0, int(len(lat) * 0.99) - 1)] * 1000
                    print(
                        f"  {name:8} {state:12} {p50:8.2f} {p99:8.2f} {lat[-1] * 1000:8.2f}  "
                        f"{result['statuses']}"
                    )
            finally:
                daemon.server.should_exit = True
                thread.join(10)
                daemon.writer.stop()
                store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--pg", default=os.environ.get("OKRBRIDGE_TEST_PG_URL"))
    parser.add_argument(
        "--http", default="daemon", help="uvicorn's HTTP parser (default: as the daemon)"
    )
    parser.add_argument(
        "--loop", default="daemon", help="uvicorn's event loop (default: as the daemon)"
    )
    parser.add_argument("--only", choices=["ack", "throughput"], default=None)
    parser.add_argument("--deliveries", type=int, default=200, help="per tool (ack part)")
    parser.add_argument("--ack-rate", type=float, default=100.0, help="per second (ack part)")
    args = parser.parse_args()
    if args.only != "throughput":
        from okrbridge.logs import configure_logging

        configure_logging(level="ERROR")
        bench_ack(args)
    if args.only != "ack":
        bench_throughput(args)


def bench_throughput(args: argparse.Namespace) -> None:
    from connectors.github import GitHubConnector
    from okrbridge.logs import configure_logging
    from okrbridge.sandbox import SandboxServer
    from okrbridge.store.testing import isolated_pg_url

    configure_logging(level="WARNING")
    tool = GitHubConnector.simulator()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, payload {FIXTURE.name}, "
        f"http {args.http}, loop {args.loop}"
    )
    with ExitStack() as stack:
        server = stack.enter_context(SandboxServer(tool.app))
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        bench_store("SQLite", f"sqlite:///{tmp / 'bench.sqlite3'}", tool, server.url, args)
        if args.pg:
            url = stack.enter_context(isolated_pg_url(args.pg))
            bench_store("PostgreSQL", url, tool, server.url, args)
        else:
            print("== PostgreSQL: skipped (pass --pg or set OKRBRIDGE_TEST_PG_URL)")


if __name__ == "__main__":
    main()
