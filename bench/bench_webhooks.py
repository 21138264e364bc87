"""Webhook receiver benchmark: signed GitHub `issues.labeled` deliveries into the durable inbox.

The daemon's app (receiver + group-committing inbox writer; scheduler and inbox worker off, so
acceptance is measured alone) is served by uvicorn in this process; the load generator runs in
a SEPARATE process on loopback with keep-alive connections and a minimal HTTP/1.1 client.

Figures per store:
  - sustained accepted deliveries per second (as many concurrent senders as `--concurrency`),
  - p50/p99 acknowledgement latency at a steady `--rate` requests per second,
  - inbox rows afterwards vs deliveries accepted (must be equal).

    python bench/bench_webhooks.py [--seconds 5] [--rate 200] [--concurrency 64] [--pg URL]
                                   [--http auto|h11|httptools] [--loop auto|asyncio|uvloop]

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
    args = parser.parse_args()

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
