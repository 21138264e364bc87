"""Jira pull benchmark: our connector vs. the same pull hand-written with the `jira` library.

    python bench/bench_jira.py            # N = 1,000 and 10,000 issues, 50 ms latency
    python bench/bench_jira.py --big      # also N = 100,000
    python bench/bench_jira.py --floors   # only the request floors (steady state, rollout)

The simulator is served by the sandbox harness in this process; each client runs in its own
subprocess so that its wall time and peak RSS are its own. Requests are counted by the server.
Also printed: an incremental pull with nothing changed, and the writes of `apply` for 100
status changes; and with `--floors`, the requests of the steady state (nothing changed; after
the bridge's own writes, in the same process and in a new one) and of a first rollout and a
rollout with a lost store. `--floors` uses only the connector contract, so it can be run
against an older tree (`PYTHONPATH=<old tree> python bench/bench_jira.py --floors`) for the
figures before a change.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

from connectors.jira import JiraConnector, JiraSettings
from connectors.jira.normalize import BASE_FIELDS
from connectors.jira.simulator import JiraSimulator
from connectors.jira.simulator.payloads import issue_bytes
from okrbridge.connector.base import CommentAction, CommentChange, PushChange
from okrbridge.domain import StatusCategory
from okrbridge.sandbox.harness import SandboxServer
from okrbridge.sandbox.middleware import Latency
from okrbridge.sandbox.tool import SeedTask

JQL = "project in (MKT, GAME)"
DAY_MS = 86_400_000


def seed(sim: JiraSimulator, n: int) -> None:
    """N issues over two projects, last updated at spread-out times over the past 90 days."""
    rng = random.Random(7)
    categories = list(StatusCategory)
    for i in range(n):
        sim.add_task(
            SeedTask(
                title=f"Issue {i}",
                container="MKT" if i % 2 else "GAME",
                status=rng.choice(categories),
                labels=("growth",) if i % 3 else (),
                estimate=float(rng.choice((1, 2, 3, 5, 8))),
                assignees=(f"Person {i % 17}",),
            )
        )
    now = int(time.time() * 1000)
    with sim.state.lock:
        for issue in sim.state.issues.values():
            issue.updated = now - rng.randrange(DAY_MS, 90 * DAY_MS)
        sim.state.version += 1


def warm(sim: JiraSimulator, url: str) -> None:
    """Render every issue once: the simulator's own CPU must not be what clients measure
    (a real site's server time is part of its latency, and the first client would pay it)."""
    wanted = [*BASE_FIELDS, "customfield_10016"]
    with sim.state.lock:
        for issue in sim.state.issues.values():
            issue_bytes(issue, sim.state, url, wanted)


# -- the two clients (each runs in a subprocess) ----------------------------------------------
def run_ours(
    url: str, env: dict[str, str], estimate_field: str = "customfield_10016"
) -> dict[str, Any]:
    settings = JiraSettings(**{**_table(url), "estimate_field": estimate_field})
    count = 0
    with JiraConnector("bench", settings, env) as connector:
        for page in connector.pull(None, full=True):
            count += len(page.tasks)  # the core commits each page and lets it go
    return {"issues": count}


def run_handwritten(url: str, env: dict[str, str]) -> dict[str, Any]:
    import jira  # the way a user writes it by hand: page after page of enhanced search

    client = jira.JIRA(url, basic_auth=(env["JIRA_EMAIL"], env["JIRA_API_TOKEN"]))
    fields = [*BASE_FIELDS, "customfield_10016"]
    token: str | None = None
    count = 0
    while True:
        page = client.enhanced_search_issues(
            f"{JQL} ORDER BY updated ASC", nextPageToken=token, maxResults=100, fields=fields
        )
        count += len(page)
        token = page.nextPageToken
        if not token:
            break
    client.close()
    return {"issues": count}


def _table(url: str) -> dict[str, Any]:
    return {"type": "jira", "base_url": url, "jql": JQL}


def client_main(kind: str, url: str) -> None:
    env = json.loads(sys.stdin.read())
    started = time.perf_counter()
    if kind == "ours-by-name":  # the field named, not given by id: one GET /field more
        result = run_ours(url, env, "Story Points")
    else:
        result = (run_ours if kind == "ours" else run_handwritten)(url, env)
    result["wall"] = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["rss_mb"] = _peak_rss_mb()
    result["cpu"] = usage.ru_utime + usage.ru_stime
    print(json.dumps(result))


def _peak_rss_mb() -> float:
    """This process's peak RSS. Not `ru_maxrss`: Linux carries it over `exec` from the parent,
    whose simulator holds all the issues. `VmHWM` belongs to the new address space only."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str, server: SandboxServer, sim: JiraSimulator) -> dict[str, Any]:
    server.log.clear()
    out = subprocess.run(
        [sys.executable, __file__, "--client", kind, "--url", server.url],
        input=json.dumps(sim.env()),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["requests"] = server.log.count()
    result["429s"] = sum(1 for r in server.log.snapshot() if r.status == 429)
    return result


# -- steady state and apply -------------------------------------------------------------------
def steady_and_apply(server: SandboxServer, sim: JiraSimulator) -> None:
    settings = JiraSettings(**{**_table(server.url), "estimate_field": "customfield_10016"})
    with JiraConnector("bench", settings, sim.env()) as connector:
        cursor = None
        tasks = []
        for page in connector.pull(None):
            cursor = page.cursor or cursor
            if len(tasks) < 100:
                tasks.extend(page.tasks[: 100 - len(tasks)])
        server.log.clear()
        list(connector.pull(cursor))
        print(f"steady state: incremental pull, nothing changed: {server.log.count()} requests")

        ids = {}
        for task in tasks:  # the first rollout: one label and one comment per issue
            ids[task.external_id] = connector.apply(
                PushChange(
                    task=task,
                    add_label="okr:on-track",
                    comment=CommentChange(CommentAction.CREATE, "**OKR status: On track**"),
                )
            ).comment_id
        fresh = connector.fetch([t.external_id for t in tasks])
        server.log.clear()
        writes = 0
        for task in fresh:
            writes += connector.apply(
                PushChange(
                    task=task,
                    add_label="okr:off-track",
                    remove_labels=("okr:on-track",),
                    comment=CommentChange(
                        CommentAction.UPDATE, "**OKR status: Off track**", ids[task.external_id]
                    ),
                )
            ).requests
        logged = server.log.count(writes_only=True)
        print(
            f"apply, 100 status changes: {logged} write requests ({logged / 100:.1f} per issue; "
            f"connector counted {writes}); all requests {server.log.count()}"
        )


# -- request floors ----------------------------------------------------------------------------
FOOTER = "_Updated by okrbridge when a status or value changes._"


def _comment(status: str, digest: str) -> CommentChange:
    body = f"**OKR status: {status}**\n\n{FOOTER}"
    try:
        return CommentChange(CommentAction.CREATE, body, digest=digest)
    except TypeError:  # a tree from before comment digests
        return CommentChange(CommentAction.CREATE, body)


def floors(n: int, latency_ms: float, overlap_s: float = 2.0) -> None:
    """Requests at the API floors, counted by the simulator's server. The incremental
    overlap is shortened to `overlap_s` so that "nothing written within the overlap" can be
    measured without waiting minutes."""
    sim = JiraSimulator()
    for i in range(n):
        sim.add_task(SeedTask(title=f"Issue {i}", container="MKT" if i % 2 else "GAME"))
    with SandboxServer(sim.app, latency=Latency(ms=latency_ms)) as server:
        sim.base_url = server.url
        table = {**_table(server.url), "estimate_field": "Story Points"}
        settings = JiraSettings(**table, overlap=timedelta(seconds=overlap_s))

        def connector() -> JiraConnector:
            return JiraConnector("bench", settings, sim.env())

        def answered() -> int:
            """Requests answered, not counting 429s (retries paced by the burst limit)."""
            return sum(1 for r in server.log.snapshot() if r.status != 429)

        def pull(conn: JiraConnector, cursor: str | None) -> tuple[list[Any], str | None, int]:
            server.log.clear()
            pages = list(conn.pull(cursor))
            tasks = [t for p in pages for t in p.tasks]
            return tasks, pages[-1].cursor or cursor, answered()

        def push(conn: JiraConnector, tasks: list[Any], status: str) -> tuple[int, int]:
            server.log.clear()
            writes = sim.write_count()
            label = f"okr:{status.lower().replace(' ', '-')}"
            for task in tasks:
                change = _comment(status, DIGEST if status == "On track" else DIGEST[::-1])
                conn.apply(PushChange(task=task, add_label=label, comment=change))
            return answered(), sim.write_count() - writes

        def settle() -> None:
            time.sleep(overlap_s + 1.5)

        daemon = connector()  # one long-lived connector, as in the daemon
        tasks, cursor, first_pull = pull(daemon, None)
        requests, writes = push(daemon, tasks, "On track")
        print(
            f"first rollout, {n} issues: pull {first_pull} requests; push {requests} "
            f"requests, {writes} writes"
        )
        _, cursor, window = pull(daemon, cursor)
        print(f"  next pull, its {n} own writes inside the overlap: {window} requests")
        settle()
        _, cursor, _ = pull(daemon, cursor)  # moves the cursor past the writes' overlap
        _, cursor, quiet = pull(daemon, cursor)
        _, cursor, quiet_new = pull(connector(), cursor)
        print(
            f"steady state, nothing changed: {quiet} requests (long-lived connector), "
            f"{quiet_new} (new process)"
        )
        ten = daemon.fetch([t.external_id for t in tasks[:10]])
        push(daemon, ten, "Off track")
        _, cursor, own = pull(daemon, cursor)
        _, cursor, again = pull(daemon, cursor)
        print(
            f"after the bridge wrote 10 issues, long-lived connector: next pull {own} "
            f"requests, then (own writes still in the overlap) {again}"
        )
        settle()
        _, cursor, _ = pull(daemon, cursor)
        cli = connector()
        push(cli, cli.fetch([t.external_id for t in ten]), "On track")
        _, cursor, own_new = pull(connector(), cursor)
        _, cursor, again_new = pull(connector(), cursor)
        print(f"after a CLI run wrote 10 issues, next runs: {own_new} requests, then {again_new}")
        lost = connector()
        tasks, _, lost_pull = pull(lost, None)
        comments = sum(len(sim.comments_of(t.external_id)) for t in tasks)
        requests, writes = push(lost, tasks, "On track")
        duplicates = sum(len(sim.comments_of(t.external_id)) for t in tasks) - comments
        print(
            f"rollout with a lost store (nothing differs), {n} issues: pull {lost_pull} "
            f"requests; push {requests} requests, {writes} writes, {duplicates} duplicate "
            "comments"
        )


DIGEST = "5f0c" * 16


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", action="store_true", help="also N = 100,000")
    parser.add_argument("--floors", type=int, nargs="?", const=1000, metavar="N")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--client")
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.client:
        client_main(args.client, args.url)
        return
    if args.floors:
        print(f"Jira request floors, {args.latency_ms:.0f} ms simulated latency per request")
        floors(args.floors, args.latency_ms)
        return
    sizes = [1_000, 10_000] + ([100_000] if args.big else [])
    print(f"Jira full pull, {args.latency_ms:.0f} ms simulated latency per request")
    print(
        "okrbridge: estimate_field by id; 'by name': the same with estimate_field = 'Story Points'"
    )
    print(
        f"{'N':>7} {'client':<12} {'requests':>8} {'429s':>5} {'wall s':>8} {'peak RSS MB':>11} "
        f"{'client CPU s':>12}"
    )
    for n in sizes:
        sim = JiraSimulator()
        seed(sim, n)
        with SandboxServer(sim.app, latency=Latency(ms=args.latency_ms)) as server:
            sim.base_url = server.url
            warm(sim, server.url)
            ours = measure("ours", server, sim)
            by_name = measure("ours-by-name", server, sim)
            hand = measure("handwritten", server, sim)
            rows = (("okrbridge", ours), ("  by name", by_name), ("jira lib", hand))
            for name, r in rows:
                assert r["issues"] == n, (name, r)
                print(
                    f"{n:>7} {name:<12} {r['requests']:>8} {r['429s']:>5} {r['wall']:>8.2f} "
                    f"{r['rss_mb']:>11.1f} {r['cpu']:>12.2f}"
                )
            print(
                f"{n:>7} {'ratio':<12} {ours['requests'] / hand['requests']:>8.2f} {'':>5} "
                f"{ours['wall'] / hand['wall']:>8.2f} {ours['rss_mb'] / hand['rss_mb']:>11.2f}"
            )
            if n == 10_000:
                steady_and_apply(server, sim)


if __name__ == "__main__":
    main()
