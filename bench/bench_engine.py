"""Benchmark the engine at the target scale: 100,000 tasks, 1,000 initiatives, 300 key results.

Prints the time to map tasks, the time of a whole `evaluate` (mapping + computing), and peak
memory. Not a pass/fail test; the target is under 1 s for map + compute on a laptop.

    python bench/bench_engine.py [--tasks 100000] [--initiatives 1000] [--key-results 300]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from okrbridge.domain import (
    CheckIn,
    Initiative,
    KeyResult,
    KeyResultLink,
    KeyResultSource,
    MatchRule,
    Objective,
    StatusCategory,
    Task,
)
from okrbridge.engine import evaluate, map_tasks

CONNECTORS = ("jira", "github", "trello")
CATEGORIES = (StatusCategory.TODO, StatusCategory.IN_PROGRESS, StatusCategory.DONE)
TEAMS = ("Growth", "Core", "Payments", "Mobile", "Platform")
NOW = datetime(2025, 2, 14, 12, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Row:
    """A light stand-in for a store row (what the store would feed the engine)."""

    connector: str
    external_id: str
    container: str
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    status_category: str
    excluded: bool
    estimate: float | None
    parent: str | None
    title: str
    fields: dict[str, str] = field(default_factory=dict)
    deleted: bool = False


def build_okrs(
    n_krs: int, n_initiatives: int, rng: random.Random
) -> tuple[list[Objective], list[Initiative]]:
    krs: list[KeyResult] = []
    for number in range(n_krs):
        kind = number % 10
        if kind == 0:
            krs.append(KeyResult(id=f"kr{number}", title=f"KR {number}", target=100))
        elif kind == 1:
            rule = MatchRule(labels_all=[f"area{number % 40}"], status_category=StatusCategory.DONE)
            krs.append(
                KeyResult(
                    id=f"kr{number}",
                    title=f"KR {number}",
                    target=50,
                    source=KeyResultSource.TASKS,
                    tasks=rule,
                )
            )
        else:
            krs.append(
                KeyResult(
                    id=f"kr{number}",
                    title=f"KR {number}",
                    start=10,
                    target=2,
                    source=KeyResultSource.INITIATIVES,
                )
            )
    objectives = [
        Objective(
            id=f"o{number}",
            title=f"Objective {number}",
            start=date(2025, 1, 1),
            end=date(2025, 3, 31),
            key_results=krs[number : number + 3],
        )
        for number in range(0, n_krs, 3)
    ]
    linkable = [kr.id for kr in krs if kr.source is KeyResultSource.INITIATIVES]
    initiatives = [_initiative(number, linkable, rng) for number in range(n_initiatives)]
    return objectives, initiatives


def _initiative(number: int, linkable: list[str], rng: random.Random) -> Initiative:
    connector = CONNECTORS[number % 3]
    project = f"P{number % 200}"
    kind = number % 5
    if kind == 0:
        rules = [MatchRule(connector=connector, container=project, labels_any=[f"i{number}"])]
    elif kind == 1:
        rules = [MatchRule(parent=f"EPIC-{number}")]
    elif kind == 2:
        rules = [
            MatchRule(
                container=project, field={"Team": TEAMS[number % 5]}, labels_all=[f"i{number}"]
            )
        ]
    elif kind == 3:
        rules = [
            MatchRule(labels_any=[f"i{number}", f"alt{number}"]),
            MatchRule(parent=f"EPIC-{number}"),
        ]
    else:
        rules = [MatchRule(container=project, title_regex=rf"\[i{number}\]")]
    links = [
        KeyResultLink(id=kr_id, weight=rng.choice((1.0, 2.0))) for kr_id in rng.sample(linkable, 2)
    ]
    return Initiative(
        id=f"init-{number}", title=f"Initiative {number}", key_results=links, match=rules
    )


def build_tasks(n_tasks: int, n_initiatives: int, rng: random.Random) -> list[Row]:
    rows = []
    for number in range(n_tasks):
        initiative = rng.randrange(n_initiatives)
        labels = [f"i{initiative}", f"area{rng.randrange(40)}"]
        if number % 20 == 0:
            labels.append(f"okr:init-{rng.randrange(n_initiatives)}")
        if number % 7 == 0:
            labels.append("okr:on-track")
        rows.append(
            Row(
                connector=CONNECTORS[initiative % 3],
                external_id=str(number),
                container=f"P{initiative % 200}",
                labels=tuple(labels),
                assignees=(f"user{rng.randrange(300)}",),
                status_category=rng.choice(CATEGORIES).value,
                excluded=number % 50 == 0,
                estimate=rng.choice((None, 1.0, 2.0, 3.0, 5.0, 8.0)),
                parent=f"EPIC-{initiative}",
                title=f"[i{initiative}] task {number}",
                fields={"Team": TEAMS[initiative % 5], "Sprint": f"S{rng.randrange(12)}"},
                deleted=number % 100 == 1,
            )
        )
    return rows


def build_history(
    objectives: list[Objective], rng: random.Random
) -> dict[str, list[tuple[datetime, float]]]:
    return {
        kr.id: [(NOW - timedelta(days=day), rng.uniform(0, 100)) for day in range(1, 30, 3)]
        for objective in objectives
        for kr in objective.key_results
    }


def reference_loop() -> float:
    """CPU seconds of a fixed pure-Python loop, to compare machines (and loads) by."""
    started = time.process_time()
    total = 0
    for i in range(3_000_000):
        total += i * i
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--initiatives", type=int, default=1_000)
    parser.add_argument("--key-results", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pydantic-tasks", action="store_true", help="feed domain.Task models")
    args = parser.parse_args()

    rng = random.Random(42)
    objectives, initiatives = build_okrs(args.key_results, args.initiatives, rng)
    rows = build_tasks(args.tasks, args.initiatives, rng)
    tasks: list[Row] | list[Task] = rows
    if args.pydantic_tasks:
        tasks = [
            Task(key=row.external_id, **{k: getattr(row, k) for k in Row.__slots__}) for row in rows
        ]
    checkins = [
        CheckIn(key_result_id=kr.id, value=rng.uniform(0, 100), at=NOW - timedelta(days=2))
        for objective in objectives
        for kr in objective.key_results
        if kr.source is KeyResultSource.MANUAL
    ]
    history = build_history(objectives, rng)
    all_krs = [kr for objective in objectives for kr in objective.key_results]
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"reference loop (3M x `total += i * i`): {reference_loop() * 1000:.0f} ms CPU")
    print(
        f"{len(tasks):,} tasks ({type(tasks[0]).__name__}), {len(initiatives):,} initiatives, "
        f"{len(all_krs):,} key results in {len(objectives):,} objectives"
    )

    def run(clock: Callable[[], float]) -> tuple[float, float]:
        gc.collect()
        started = clock()
        map_tasks(initiatives, tasks, key_results=all_krs)
        mapped = clock()
        evaluate(objectives, initiatives, tasks, checkins, history, now=NOW)
        return mapped - started, clock() - mapped

    result = evaluate(objectives, initiatives, tasks, checkins, history, now=NOW)
    edges = sum(len(ids) for ids in result.task_initiatives.values())
    print(f"mapped tasks: {len(result.task_initiatives):,} ({edges:,} task-initiative links)")
    # CPU time next to wall time: on a shared machine the wall clock also counts other
    # processes' turns. Medians of N runs; compute is the difference of the medians.
    for name, clock in (("wall", time.perf_counter), ("cpu", time.process_time)):
        timings = [run(clock) for _ in range(args.repeat)]
        map_time = statistics.median(t[0] for t in timings)
        total = statistics.median(t[1] for t in timings)
        print(
            f"[{name:4}] map only {map_time * 1000:7.1f} ms | evaluate (map + compute) "
            f"{total * 1000:7.1f} ms | compute ~{max(total - map_time, 0) * 1000:6.1f} ms "
            f"(median of {args.repeat})"
        )

    tracemalloc.start()
    evaluate(objectives, initiatives, tasks, checkins, history, now=NOW)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory allocated by evaluate (tracemalloc): {peak / 2**20:8.1f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"max RSS of the process (inputs included):        {rss:8.1f} MiB")


if __name__ == "__main__":
    main()
