"""Store throughput: upsert 100,000 synthetic tasks in pages of 1,000, then re-upsert and load.

Each page and its cursor are committed in one transaction, as the sync does. Runs on SQLite
(a temporary file) and, when `--pg URL` or `OKRBRIDGE_TEST_PG_URL` is given, on PostgreSQL in
a throw-away schema. Prints figures; passes or fails nothing.

    python bench/bench_store.py [--tasks 100000] [--page 1000] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from okrbridge.domain import StatusCategory, Task
from okrbridge.store.db import Store, redact_url
from okrbridge.store.migrate import upgrade
from okrbridge.store.repos import load_tasks, set_cursor, start_run, upsert_tasks
from okrbridge.store.testing import PG_URL_ENV, isolated_pg_url

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
CATEGORIES = list(StatusCategory)


def synthetic_tasks(count: int) -> list[Task]:
    """Tasks shaped like real Jira issues, with a raw payload of a few hundred bytes."""
    return [
        Task(
            connector="jira",
            external_id=str(100_000 + n),
            key=f"OPS-{n}",
            url=f"https://jira.example.test/browse/OPS-{n}",
            title=f"Synthetic task {n} with a title of realistic length",
            container=f"OPS{n % 7}",
            status_name="In Progress",
            status_category=CATEGORIES[n % 3],
            labels=("okr:growth", f"team-{n % 5}"),
            assignees=(f"user{n % 40}",),
            estimate=float(n % 8),
            parent=f"OPS-{n - n % 50}",
            fields={"Team": f"team-{n % 5}", "Sprint": f"S{n % 12}"},
            updated_at=T0 + timedelta(seconds=n),
            raw={
                "id": str(100_000 + n),
                "key": f"OPS-{n}",
                "fields": {"summary": f"Synthetic task {n}", "status": {"name": "In Progress"}},
                "changelog": [{"field": "status", "from": "To Do", "to": "In Progress"}] * 2,
            },
        )
        for n in range(count)
    ]


class Timer:
    """Wall-clock and this process's CPU seconds (CPU is the steadier figure on a busy box)."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def rate(self, n: int) -> str:
        return f"{n / self.wall:>9,.0f} tasks/s  ({self.wall:.1f} s wall, {self.cpu:.1f} s CPU)"


def pull(store: Store, tasks: list[Task], page: int) -> tuple[Timer, int]:
    """Upsert all tasks page by page, each page with its cursor; return timing and changes."""
    with store.session() as session:
        run_id = start_run(session, "jira", "full", False)
    changed = 0
    with Timer() as timer:
        for offset in range(0, len(tasks), page):
            with store.session() as session:
                changed += upsert_tasks(session, tasks[offset : offset + page], run_id).changed
                set_cursor(session, "jira", str(offset + page))
    return timer, changed


def bench(label: str, url: str, tasks: list[Task], page: int) -> None:
    store = Store(url)
    upgrade(store)
    first, first_changed = pull(store, tasks, page)
    again, again_changed = pull(store, tasks, page)
    with Timer() as load, store.session() as session:
        loaded = load_tasks(session)
    with Timer() as lean, store.session() as session:
        load_tasks(session, include_raw=False)
    store.dispose()
    if (len(loaded), first_changed, again_changed) != (len(tasks), len(tasks), 0):
        raise SystemExit(f"unexpected counts: {len(loaded)}, {first_changed}, {again_changed}")
    n = len(tasks)
    print(f"{label}: {redact_url(url)}")
    print(f"  first load      {first.rate(n)}, {n // page} pages")
    print(f"  re-upsert same  {again.rate(n)}, 0 changed")
    print(f"  load_tasks      {load.wall:>9.2f} s wall, {load.cpu:.2f} s CPU")
    print(f"    without raw   {lean.wall:>9.2f} s wall, {lean.cpu:.2f} s CPU")


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{Path(directory) / 'bench.sqlite3'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1_000)
    parser.add_argument("--pg", default=os.environ.get(PG_URL_ENV))
    args = parser.parse_args()
    tasks = synthetic_tasks(args.tasks)
    with sqlite_url() as url:
        bench("SQLite", url, tasks, args.page)
    if args.pg:
        with isolated_pg_url(args.pg) as url:
            bench("PostgreSQL", url, tasks, args.page)
    else:
        print(f"PostgreSQL: skipped (give --pg URL or set {PG_URL_ENV})")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mib:,.0f} MiB ({args.tasks:,} tasks held in memory as input)")


if __name__ == "__main__":
    main()
