"""GitHub connector benchmark against the simulator (50 ms latency on every request).

Prints, for a project of N items (default 10,000):
- full pull (with each item's last comments, so the bridge's marks come with it): requests and
  GraphQL points vs the minimum (ceil(N/100) pages) and vs the hand-written full query, priced
  as GitHub documents and as it would be if GitHub charged its skipped `@include`/`@skip`
  owner branch (target: ours <= 600 points for 10,000 items either way);
- steady-state pull with nothing changed: our lean scan vs the hand-written full query run
  every cycle (target <= 150 points vs ~600);
- a first rollout over a lost store: the requests added to find the bridge's existing
  comments (with the marks in the pull) vs looking in each issue before creating;
- after K changes: lean scan + details of the changed items;
- push on P issues, side by side: the push a person would write by hand (a new comment and a
  label on every run: 2 writes per issue per run, duplicate comments from the second run on)
  vs ours (<= 2 writes per changed issue, 0 at steady state), with the secondary-limit 403s each
  one draws from GitHub's content-creation limits (80/min, 500/h, judged in virtual time:
  the pacers' waits are not slept, only counted).

Usage: python bench/bench_github.py [--items 10000] [--push 200] [--changed 50] [--latency 50]
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import httpx

from connectors.github import GitHubConnector, GitHubSettings
from connectors.github.simulator import GitHubSimulator
from okrbridge.connector.base import CommentAction, CommentChange, PushChange
from okrbridge.connector.cursor import decode_cursor
from okrbridge.domain import StatusCategory, Task
from okrbridge.sandbox.harness import SandboxServer
from okrbridge.sandbox.middleware import Latency
from okrbridge.sandbox.tool import SeedTask


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def _connector(sim: GitHubSimulator, url: str, clock: VirtualClock) -> GitHubConnector:
    # Production pacing (the simulator's settings speed it up for tests).
    settings = GitHubSettings(**{**sim.settings(url), "write_budget_per_minute": None})
    return GitHubConnector("gh", settings, sim.env(), sleep=clock.sleep, pacer_clock=clock)


def _pull(connector: GitHubConnector, cursor: str | None, full: bool = False) -> tuple[Any, ...]:
    before = (connector.stats.requests, connector.stats.cost_points)
    started = time.perf_counter()
    pages = list(connector.pull(cursor, full=full))
    tasks = [t for p in pages for t in p.tasks]
    return (
        tasks,
        pages[-1].cursor,
        connector.stats.requests - before[0],
        connector.stats.cost_points - before[1],
        time.perf_counter() - started,
    )


HAND_WRITTEN = """
query($owner: String!, $number: Int!, $isOrg: Boolean!, $first: Int!, $after: String) {
  organization(login: $owner) @include(if: $isOrg) { projectV2(number: $number) { ...P } }
  user(login: $owner) @skip(if: $isOrg) { projectV2(number: $number) { ...P } }
  rateLimit { cost }
}
fragment P on ProjectV2 {
  items(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id updatedAt
      fieldValues(first: 20) { nodes { ... on ProjectV2ItemFieldSingleSelectValue { name } } }
      content {
        ... on Issue { id title labels(first: 20) { nodes { name } }
                      assignees(first: 10) { nodes { login } } }
        ... on PullRequest { id title labels(first: 20) { nodes { name } }
                             assignees(first: 10) { nodes { login } } }
        ... on DraftIssue { id title assignees(first: 10) { nodes { login } } }
      }
    }
  }
}
"""
"""What a person writes by hand: one document for both owner types, labels and assignees per
content type, no comments."""


def _hand_written_page_points() -> tuple[int, int]:
    """(points per page as GitHub documents it, points if the skipped branch were charged)."""
    from graphql import parse

    from connectors.github.simulator.graphql_api import query_cost

    document = parse(HAND_WRITTEN)
    variables = {"isOrg": True, "first": 100}
    charged = parse(
        HAND_WRITTEN.replace("@include(if: $isOrg)", "").replace("@skip(if: $isOrg)", "")
    )
    return query_cost(document, variables), query_cost(charged, variables)


def _baseline_steady(connector: GitHubConnector, number: int) -> tuple[int, float]:
    """The hand-written query: every item in full, every cycle."""
    before = (connector.stats.requests, connector.stats.cost_points)
    after = None
    while True:
        variables = {"owner": "acme", "number": number, "isOrg": True, "first": 100}
        body = connector.client.transport.request_json(
            "POST",
            connector.client.graphql_url,
            json={"query": HAND_WRITTEN, "variables": {**variables, "after": after}},
            write=False,
        )
        connector.stats.cost_points += body["data"]["rateLimit"]["cost"]
        items = body["data"]["organization"]["projectV2"]["items"]
        if not items["pageInfo"]["hasNextPage"]:
            break
        after = items["pageInfo"]["endCursor"]
    return connector.stats.requests - before[0], connector.stats.cost_points - before[1]


def bench_pull(items: int, changed: int, latency: float) -> None:
    sim = GitHubSimulator()
    ids = [sim.add_task(SeedTask(f"task {i}", "acme/app")) for i in range(items)]
    with SandboxServer(sim.app, latency=Latency(ms=latency)) as server:
        sim.limits.graphql["remaining"] = 10**9  # measure, do not stop at 5,000 points
        clock = VirtualClock()
        connector = _connector(sim, server.url, clock)
        minimum = math.ceil(items / 100)
        tasks, cursor, requests, points, took = _pull(connector, None)
        documented, charged = _hand_written_page_points()
        pages = math.ceil(items / 100)
        print(
            f"full pull of {len(tasks)} items with their marks: {requests} requests "
            f"(minimum {minimum}), {points:.0f} points, {took:.1f} s; no document carries an "
            f"@include/@skip branch. Hand-written full query: {documented * pages} points as "
            f"GitHub documents it, {charged * pages} if GitHub charged its skipped branch"
        )
        marked = sum(1 for t in tasks if t.marks is not None)
        print(f"  tasks carrying their marks: {marked} of {len(tasks)}")
        print(
            f"  cursor: {len(cursor or '')} bytes "
            f"({len(cursor or '') / max(1, items):.1f} bytes per item)"
        )
        _, cursor, requests, points, took = _pull(connector, cursor)
        base_requests, base_points = _baseline_steady(connector, 1)
        print(
            f"steady state, nothing changed: ours {requests} requests / {points:.0f} points "
            f"({took:.1f} s); hand-written full query {base_requests} requests / "
            f"{base_points:.0f} points -> {base_points / max(points, 1):.1f}x cheaper"
        )
        for external_id in ids[:: max(1, items // changed)][:changed]:
            sim.set_status(external_id, StatusCategory.DONE)
        tasks, cursor, requests, points, took = _pull(connector, cursor)
        print(
            f"after {changed} changes: {len(tasks)} tasks read, {requests} requests, "
            f"{points:.0f} points ({took:.1f} s)"
        )
        assert len(decode_cursor(cursor)["projects"]) == 1


def _naive_push(sim: GitHubSimulator, url: str, tasks: list[Task], runs: int) -> dict[str, int]:
    """What a person writes by hand: comment + label on every issue, every run, no pacing."""
    out = {"writes": 0, "over_limit": 0}
    stamps: list[float] = []
    headers = {"Authorization": f"Bearer {sim.token}"}
    with httpx.Client(base_url=f"{url}/api/v3/", headers=headers) as client:
        for run in range(runs):
            for task in tasks:
                repo, _, number = task.key.rpartition("#")
                for path, body in (
                    (f"repos/{repo}/issues/{number}/comments", {"body": f"OKR status (run {run})"}),
                    (f"repos/{repo}/issues/{number}/labels", {"labels": ["okr:on-track"]}),
                ):
                    client.post(path, json=body).raise_for_status()
                    stamps.append(time.monotonic())
                    out["writes"] += 1
    out["over_limit"] = _over_limits(stamps)
    return out


def _over_limits(stamps: list[float]) -> int:
    """How many of these content creations GitHub would refuse (80/min, 500/h, sliding)."""
    accepted: list[float] = []
    refused = 0
    for t in stamps:
        minute = sum(1 for a in accepted if a > t - 60)
        hour = sum(1 for a in accepted if a > t - 3600)
        if minute >= 80 or hour >= 500:
            refused += 1
        else:
            accepted.append(t)
    return refused


def _comments(sim: GitHubSimulator, tasks: list[Task]) -> int:
    return sum(len(sim.comments_of(t.external_id)) for t in tasks)


def bench_push(count: int, latency: float) -> None:
    for label, ours in (("hand-written", False), ("okrbridge", True)):
        sim = GitHubSimulator()
        clock = VirtualClock()
        sim.limits.clock = clock  # secondary limits judged in virtual time
        sim.limits.reset()
        if not ours:  # let every naive write land, to count duplicates; refusals computed
            sim.limits.content_per_minute = sim.limits.content_per_hour = None
        for i in range(count):
            sim.add_task(SeedTask(f"task {i}", "acme/app"))
        with SandboxServer(sim.app, latency=Latency(ms=latency)) as server:
            connector = _connector(sim, server.url, clock)
            tasks, *_ = _pull(connector, None)
            if not ours:
                stats = _naive_push(sim, server.url, tasks, runs=2)
                print(
                    f"{label}: 2 runs on {count} issues -> {stats['writes']} writes, "
                    f"{_comments(sim, tasks)} comments ({_comments(sim, tasks) - count} "
                    f"duplicates); {stats['over_limit']} of its writes are over GitHub's "
                    "content-creation limits (each a 403 from the secondary limit)"
                )
                naive = stats["writes"]
                continue
            writes = [_run(connector, tasks, "okr:on-track", None)]
            tasks, *_ = _pull(connector, None, full=True)
            writes.append(_run(connector, tasks, "okr:on-track", "okr:on-track", steady=True))
            tasks, *_ = _pull(connector, None, full=True)
            writes.append(_run(connector, tasks, "okr:off-track", "okr:on-track"))
            refused = connector.stats.rate_limit_waits
            elapsed = clock.now - 1000.0
            print(
                f"{label}: first rollout {writes[0]} writes ({writes[0] / count:.2f}/issue, "
                f"incl. creating the label once), steady run {writes[1]} writes, status change "
                f"{writes[2]} writes ({writes[2] / count:.2f}/issue); {_comments(sim, tasks)} "
                f"comments; {refused} secondary-limit waits; paced over {elapsed / 60:.1f} "
                f"virtual minutes ({sum(writes) / max(elapsed / 60, 1e-9):.0f} writes/min)"
            )
            print(
                f"ratio, two runs (rollout + steady): hand-written {naive} writes vs ours "
                f"{writes[0] + writes[1]} -> {naive / max(1, writes[0] + writes[1]):.1f}x fewer"
            )


def _run(
    connector: GitHubConnector,
    tasks: list[Task],
    label: str,
    stale: str | None,
    steady: bool = False,
) -> int:
    total = 0
    for task in tasks:
        if steady:  # the planner finds nothing to do; the connector still checks the label
            total += connector.apply(PushChange(task=task, add_label=label)).requests
            continue
        comment_id = task.marks.comment_id if task.marks else None
        remove = (stale,) if stale and stale != label else ()
        action = CommentAction.UPDATE if stale else CommentAction.CREATE
        change = PushChange(
            task=task,
            add_label=label,
            remove_labels=remove,
            comment=CommentChange(action, f"**OKR status: {label}**", comment_id),
        )
        total += connector.apply(change).requests
    return total


def bench_lost_store(count: int, latency: float) -> None:
    """A rollout, then the same project read by a fresh install (a lost or new store)."""
    sim = GitHubSimulator()
    clock = VirtualClock()
    sim.limits.clock = clock
    sim.limits.reset()
    for i in range(count):
        sim.add_task(SeedTask(f"task {i}", "acme/app"))
    digest = "0123456789abcdef"
    with SandboxServer(sim.app, latency=Latency(ms=latency)) as server:
        first = _connector(sim, server.url, clock)
        tasks, *_ = _pull(first, None)
        for task in tasks:
            comment = CommentChange(CommentAction.CREATE, "**OKR status**", digest=digest)
            first.apply(PushChange(task=task, add_label="okr:on-track", comment=comment))
        fresh = _connector(sim, server.url, clock)
        tasks, _, requests, points, _ = _pull(fresh, None)
        current = sum(
            1 for t in tasks if t.marks and t.marks.comment_digest == digest and t.marks.comment_id
        )
        pages = math.ceil(count / 100)
        before = fresh.stats.requests
        for task in tasks:  # what looking in each issue before creating would cost
            comment = CommentChange(CommentAction.CREATE, "**OKR status**", digest=digest)
            fresh.apply(PushChange(task=task, comment=comment))
        looked = fresh.stats.requests - before
        print(
            f"lost store, {count} issues already marked: the fresh pull made {requests} requests "
            f"({pages} pages, {requests - pages} added to find comments), {points:.0f} points, "
            f"and found {current} current comments (0 writes needed); looking in each issue "
            f"before creating instead costs {looked} requests"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=50)
    parser.add_argument("--push", type=int, default=200)
    parser.add_argument("--latency", type=float, default=50.0)
    args = parser.parse_args()
    bench_pull(args.items, args.changed, args.latency)
    bench_push(args.push, args.latency)
    bench_lost_store(args.push, args.latency)


if __name__ == "__main__":
    main()
