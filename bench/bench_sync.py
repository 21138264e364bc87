"""Benchmark of the sync pipeline with an in-memory connector (no HTTP).

Prints, for N tasks, 1,000 initiatives and 300 key results: pull upsert throughput into
SQLite (and PostgreSQL with --pg URL), the time to map + compute and to plan, and the peak
RSS of the whole run. Each N runs in its own process so peak RSS is per size.

    python bench/bench_sync.py                 # N = 10k, 50k, 100k on SQLite
    python bench/bench_sync.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from okrbridge.config.schema import ConnectorSettings
from okrbridge.connector.base import Capability, Connector, Page, PushChange, PushResult
from okrbridge.domain import Task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import CATEGORIES, PAGE, okr_config  # the OKRs both benches use


class SyntheticConnector(Connector[ConnectorSettings]):
    """Yields N generated tasks in pages; writes nothing."""

    name: ClassVar[str] = "synthetic"
    settings_model: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LABELS, Capability.COMMENTS}
    )
    total = 0

    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        rng = random.Random(1)
        base = datetime(2026, 11, 1, tzinfo=UTC)
        for start in range(0, self.total, PAGE):
            tasks = [
                Task(
                    connector=self.instance,
                    external_id=str(i),
                    key=f"P{i % 50}-{i}",
                    title=f"task {i}",
                    container=f"P{i % 50}",
                    status_category=rng.choice(CATEGORIES),
                    labels=(f"team-{i % 7}", f"init-{i % 1000}"),
                    estimate=float(i % 8),
                    updated_at=base + timedelta(seconds=i),
                    raw={"id": i, "fields": {"summary": f"task {i}"}},
                )
                for i in range(start, min(start + PAGE, self.total))
            ]
            yield Page(tasks, cursor=json.dumps({"i": start + len(tasks)}))

    def apply(self, change: PushChange) -> PushResult:
        return PushResult(requests=0)


def run_one(n: int, url: str) -> dict[str, Any]:
    from sqlalchemy import text

    from okrbridge.store.db import Store
    from okrbridge.store.migrate import upgrade
    from okrbridge.store.repos.runs import start_run
    from okrbridge.store.repos.tasks import get_task_ids
    from okrbridge.sync.compute import compute
    from okrbridge.sync.connector_plan import plan_connector
    from okrbridge.sync.pull import pull_into_store
    from okrbridge.sync.write_queue import load_pushed

    store = Store(url)
    if store.dialect == "postgresql":
        with store.session() as session:
            session.execute(text("DROP SCHEMA IF EXISTS bench_sync CASCADE"))
            session.execute(text("CREATE SCHEMA bench_sync"))
        store.dispose()
        store = Store(url + ("&" if "?" in url else "?") + "options=-csearch_path%3Dbench_sync")
    upgrade(store)
    config = okr_config("synthetic")
    SyntheticConnector.total = n
    connector = SyntheticConnector("synthetic", config.connectors["synthetic"], {})
    with store.session() as session:
        run_id = start_run(session, "synthetic", "full", False)
    figures: dict[str, Any] = {"n": n, "dialect": store.dialect}
    t0 = time.perf_counter()
    pull_into_store(store, connector, run_id, full=True)
    figures["upsert_s"] = time.perf_counter() - t0
    figures["upsert_tasks_per_s"] = n / figures["upsert_s"]
    t0 = time.perf_counter()
    pull_into_store(store, connector, run_id, full=True)
    figures["reupsert_unchanged_s"] = time.perf_counter() - t0

    now = datetime(2026, 11, 15, tzinfo=UTC)
    t0 = time.perf_counter()
    compute(store, config, now=now, record=True)  # incremental: maps and tallies, loads no task
    figures["load_map_compute_record_s"] = time.perf_counter() - t0
    from okrbridge.engine import evaluate

    tasks = compute(store, config, now=now, record=False).tasks  # every task, in memory
    t0 = time.perf_counter()
    evaluation = evaluate(config.objectives, config.initiatives, tasks, now=now)
    figures["map_compute_s"] = time.perf_counter() - t0
    with store.session() as session:
        ids = get_task_ids(session, [(t.connector, t.external_id) for t in tasks])
        pushed = load_pushed(session, "synthetic")
    with_ids = [(ids[t.ref], t) for t in tasks]
    t0 = time.perf_counter()
    plans = plan_connector(
        config, config.connectors["synthetic"], connector.capabilities, with_ids, evaluation, pushed
    )
    figures["plan_s"] = time.perf_counter() - t0
    figures["planned_changes"] = len(plans)
    figures["map_compute_plan_s"] = figures["map_compute_s"] + figures["plan_s"]
    store.dispose()
    return figures


def whole_sync_rss(n: int, url: str) -> dict[str, Any]:
    """Peak RSS of one `run_sync` (pull, compute, plan; dry run: no drain) in this process."""
    from okrbridge.connector.registry import ConnectorRegistry
    from okrbridge.store.db import Store
    from okrbridge.store.migrate import upgrade
    from okrbridge.sync.runner import run_sync

    store = Store(url)
    upgrade(store)
    registry = ConnectorRegistry()
    registry.register(SyntheticConnector)
    SyntheticConnector.total = n
    t0 = time.perf_counter()
    report = run_sync(
        okr_config("synthetic"),
        store,
        registry,
        dry_run=True,
        env={},
        now=datetime(2026, 11, 15, tzinfo=UTC),
    )
    wall = time.perf_counter() - t0
    store.dispose()
    planned = sum(c.writes_planned for c in report.connectors)
    return {"sync_wall_s": wall, "planned_writes": planned, "peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """VmHWM of this process (ru_maxrss would include what a parent process reached)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(*args: str) -> dict[str, Any]:
    """Run one measurement in a fresh process (so peak RSS is its own)."""
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--pg", help="PostgreSQL URL to measure as well")
    parser.add_argument("--one", nargs=2, metavar=("N", "URL"), help=argparse.SUPPRESS)
    parser.add_argument("--rss", nargs=2, metavar=("N", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(int(args.one[0]), args.one[1])))
        return
    if args.rss:
        print(json.dumps(whole_sync_rss(int(args.rss[0]), args.rss[1])))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            urls = [f"sqlite:///{Path(tmp) / f'bench-{n}.sqlite3'}"] + (
                [args.pg] if args.pg else []
            )
            for url in urls:
                rows.append(_child("--one", str(n), url))
            fresh = f"sqlite:///{Path(tmp) / f'rss-{n}.sqlite3'}"
            rows[-len(urls)].update(_child("--rss", str(n), fresh))
    header = (
        f"{'N':>7} {'db':>10} {'upsert t/s':>11} {'re-upsert s':>11} "
        f"{'map+compute s':>13} {'plan s':>7} {'map+compute+plan s':>18} "
        f"{'whole sync s':>12} {'peak RSS MB':>11}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['n']:>7} {r['dialect']:>10} {r['upsert_tasks_per_s']:>11.0f} "
            f"{r['reupsert_unchanged_s']:>11.2f} {r['map_compute_s']:>13.3f} "
            f"{r['plan_s']:>7.3f} {r['map_compute_plan_s']:>18.3f} "
            f"{r.get('sync_wall_s', float('nan')):>12.1f} "
            f"{r.get('peak_rss_mb', float('nan')):>11.0f}"
        )


if __name__ == "__main__":
    main()
