"""Trello connector benchmark against the simulator (real limits on) at 50 ms latency.

Prints: requests and wall time of a full pull (and how many of them list comments to find the
bridge's marks) and of a steady-state pull by a new process from the stored cursor; the first
rollout of a status label and a stamped comment to every open card through `apply`, paced
under 100 requests per 10 s, with the simulator's 429 count; the same rollout again as a lost
store would plan it (every create looks first) and as a core using the pull's marks would
(nothing to write); then the same two through `okrbridge sync`'s pipeline (store A, then an
empty store B), with the comment reads each makes; and a naive push (a label via
`POST /cards/{id}/labels` plus a comment per card, 8 threads, no pacing) against the same
limiter.

    python bench/bench_trello.py                # 10 boards x 30 cards, < 3 minutes
    python bench/bench_trello.py --cards 500    # the full 10 x 500 (about 20 minutes)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from connectors.trello import TrelloConnector, TrelloSettings
from connectors.trello.simulator import API_KEY, BOT_TOKEN, TrelloSimulator
from okrbridge.connector.base import CommentAction, CommentChange, PushChange
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import StatusCategory, Task
from okrbridge.sandbox.harness import SandboxServer
from okrbridge.sandbox.middleware import Latency
from okrbridge.sandbox.tool import SeedTask
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.sync.runner import run_sync
from tests.support.okr import NOW, okr_config

DIGEST = "5eed5eed5eed5eed"
BODY = "**OKR status: On track** — Grow our new mobile game\nInitiative: Reviews (38% done)"
console = Console()


def seed(sim: TrelloSimulator, boards: int, cards: int) -> list[str]:
    sim.limiter.limits.enabled = False  # seeding is a person's work, not API traffic
    statuses = list(StatusCategory)
    for b in range(boards):
        for c in range(cards):
            sim.add_task(SeedTask(f"card {c}", f"board{b}", statuses[c % 3], ("team", "reviews")))
    sim.limiter.limits.enabled = True
    return [b["shortLink"] for b in sim.state.boards.values()]


def full_pull(conn: TrelloConnector, server: SandboxServer, what: str) -> list[Task]:
    server.log.clear()
    started = time.monotonic()
    pages = list(conn.pull(None, full=True))
    tasks = [t for p in pages for t in p.tasks]
    scans = sum(1 for r in server.log.snapshot() if "filter=commentCard" in r.query)
    console.print(
        f"{what}: {len(tasks)} cards, {len(server.log)} requests ({scans} of them list the "
        f"boards' comments for the marks), {time.monotonic() - started:.1f} s"
    )
    return tasks


def pull_figures(
    conn: TrelloConnector, server: SandboxServer, settings: TrelloSettings, env: dict[str, str]
) -> list[Task]:
    server.log.clear()
    pages = list(conn.pull(None, full=True))
    tasks = [t for p in pages for t in p.tasks]
    cursor = [p.cursor for p in pages if p.cursor][-1]
    full_pull(conn, server, "full pull")
    with TrelloConnector("bench", settings, env) as fresh:  # the next run: a new process
        server.log.clear()
        started = time.monotonic()
        changed = [t for p in fresh.pull(cursor) for t in p.tasks]
        console.print(
            f"steady-state pull (new process, stored cursor): {len(changed)} cards, "
            f"{len(server.log)} requests for {len(settings.boards)} boards, "
            f"{time.monotonic() - started:.1f} s"
        )
    return tasks


def rollout(
    conn: TrelloConnector, server: SandboxServer, tasks: list[Task], what: str, look: bool
) -> int:
    open_tasks = [t for t in tasks if not t.excluded]
    writes = 0
    server.log.clear()
    columns = (
        *Progress.get_default_columns()[:2],
        MofNCompleteColumn(),
        BarColumn(),
        TimeRemainingColumn(),
    )
    started = time.monotonic()
    with Progress(*columns, console=console) as progress:
        job = progress.add_task(f"{what} (label + comment per open card)", total=len(open_tasks))
        for task in open_tasks:
            comment = CommentChange(CommentAction.CREATE, BODY, digest=DIGEST, look_first=look)
            change = PushChange(task=task, add_label="okr:on-track", comment=comment)
            writes += conn.apply(change).requests
            progress.advance(job)
    elapsed = time.monotonic() - started
    reads = sum(1 for r in server.log.snapshot() if r.method == "GET")
    console.print(
        f"{what}: {len(open_tasks)} cards, {writes} writes and {reads} reads in {elapsed:.1f} s "
        f"({writes / elapsed:.1f} writes/s); floor at 100 req/10 s: {writes / 10:.1f} s"
    )
    return writes


def planned_from_marks(tasks: list[Task]) -> int:
    """What a core using the pull's marks plans after a lost store: cards lacking the label or
    a comment stamped with the current digest."""
    return sum(
        1
        for t in tasks
        if not t.excluded
        and ("okr:on-track" not in t.labels or t.marks is None or t.marks.comment_digest != DIGEST)
    )


def naive_push(sim: TrelloSimulator, url: str, threads: int = 8) -> None:
    card_ids = [c["id"] for c in sim.state.cards.values() if not c["closed"]]
    refused_before = sim.limiter.refused
    auth = {"key": API_KEY, "token": BOT_TOKEN}
    statuses: list[int] = []

    def push(card_id: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for path, params in (
                (f"/1/cards/{card_id}/labels", {"name": "okr:on-track", "color": "green"}),
                (f"/1/cards/{card_id}/actions/comments", {"text": BODY}),
            ):
                statuses.append(client.post(path, params={**auth, **params}).status_code)

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(push, card_ids))
    labels = [x for x in sim.state.labels.values() if x["name"] == "okr:on-track"]
    console.print(
        f"naive push ({threads} threads, no pacing): {len(statuses)} requests in "
        f"{time.monotonic() - started:.1f} s, {sim.limiter.refused - refused_before} answered "
        f"429, {len(labels)} 'okr:on-track' board labels created for {len(sim.state.boards)} "
        f"boards (duplicates: {len(labels) - len(sim.state.boards)})"
    )


def through_sync(boards: int, cards: int, latency_ms: float) -> None:
    """A first rollout and a lost store's sync through `okrbridge sync`'s pipeline."""
    sim = TrelloSimulator()
    seed(sim, boards, cards)
    registry = ConnectorRegistry()
    registry.register(TrelloConnector)
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(sim.app, latency=Latency(ms=latency_ms)) as server,
    ):
        settings = TrelloSettings.model_validate(sim.settings(server.url))
        config = okr_config("bench", settings)  # cards labelled `reviews`
        for name in ("first rollout (store A)", "lost store (empty store B)"):
            store = Store(f"sqlite:///{tmp}/{len(name)}.sqlite3")
            upgrade(store)
            server.log.clear()
            writes = sim.write_count()
            started = time.monotonic()
            report = run_sync(config, store, registry, env=sim.env(), now=NOW)
            log = server.log.snapshot()
            scans = sum(1 for r in log if "filter=commentCard" in r.query and "/boards/" in r.path)
            per_card = sum(1 for r in log if "/cards/" in r.path and r.path.endswith("/actions"))
            console.print(
                f"sync, {name}: ok={report.ok}, {len(log)} requests "
                f"({sim.write_count() - writes} writes, {scans} board comment scans, "
                f"{per_card} per-card comment reads), {time.monotonic() - started:.1f} s"
            )
            store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=10)
    parser.add_argument("--cards", type=int, default=30, help="cards per board")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()

    sim = TrelloSimulator()
    boards = seed(sim, args.boards, args.cards)
    with SandboxServer(sim.app, latency=Latency(ms=args.latency_ms)) as server:
        settings = TrelloSettings(base_url=server.url, boards=boards)
        conn = TrelloConnector("bench", settings, sim.env())
        try:
            tasks = pull_figures(conn, server, settings, sim.env())
            writes = rollout(conn, server, tasks, "first rollout, marks from the pull", False)
            again = full_pull(conn, server, "full pull after the rollout (a lost store's)")
            console.print(
                f"lost store, planning from the pull's marks: {planned_from_marks(again)} "
                "cards to write"
            )
            rollout(conn, server, again, "lost store, every create looks first", True)
        finally:
            conn.close()
        console.print(f"simulator 429s during pull + rollout: {sim.limiter.refused}")

    through_sync(args.boards, args.cards, args.latency_ms)

    naive_sim = TrelloSimulator()
    seed(naive_sim, args.boards, args.cards)
    with SandboxServer(naive_sim.app, latency=Latency(ms=args.latency_ms)) as server:
        naive_push(naive_sim, server.url)

    cards = 10 * 500
    per_card = writes / max(1, len([t for t in tasks if not t.excluded]))
    console.print(
        f"extrapolation to 10 boards x 500 open cards: {per_card:.2f} writes per card -> "
        f"{cards * per_card:.0f} writes; floor {cards * per_card / 10 / 60:.1f} min at 100 "
        f"requests/10 s, about {cards * per_card / 9 / 60:.1f} min paced at 9 requests/s"
    )


if __name__ == "__main__":
    main()
