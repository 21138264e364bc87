"""Benchmark of comment fan-out: the writes one task move (and 20) cost on a large initiative.

One initiative of N tasks (default 500) on the memory tool, served over loopback HTTP; the
first sync rolls out every label and comment, then 1 task and then 20 tasks move to done.
Prints the writes each step cost, how many tasks they touched, the tool's request count for the
rollout, and whether the key result's status held. Run it on two checkouts to compare:

    python bench/bench_fanout.py
    PYTHONPATH=/path/to/older/checkout python bench/bench_fanout.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # PYTHONPATH wins

import okrbridge
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import StatusCategory
from okrbridge.sandbox import SandboxServer, SeedTask
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.sync.runner import SyncReport, run_sync
from tests.support.memory import MemoryConnector, MemorySettings, MemoryTool
from tests.support.okr import NOW, okr_config


def _marks(tool: MemoryTool, ids: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    return {i: (tool.labels_of(i), [c.body for c in tool.comments_of(i)]) for i in ids}


def run(tasks: int, moves: list[int]) -> None:
    tool = MemoryTool()
    registry = ConnectorRegistry()
    registry.register(MemoryConnector)
    ids = [
        tool.add_task(SeedTask(f"task {i}", "MKT", StatusCategory.TODO, ("reviews",)))
        for i in range(tasks)
    ]
    with tempfile.TemporaryDirectory() as folder, SandboxServer(tool.app) as server:
        store = Store(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        upgrade(store)
        config = okr_config("mem", MemorySettings(**tool.settings(server.url)))

        def sync() -> tuple[SyncReport, float]:
            started = time.perf_counter()
            report = run_sync(config, store, registry, env=tool.env(), now=NOW)
            assert report.ok, [c.error for c in report.connectors]
            return report, time.perf_counter() - started

        print(f"okrbridge from {Path(okrbridge.__file__).parent}")
        print(f"{tasks} tasks in one initiative (memory tool over loopback HTTP)")
        report, seconds = sync()
        status = report.evaluation.key_results["kr-reviews"].status.value  # type: ignore[union-attr]
        print(
            f"  first rollout: {tool.write_count():6,} writes, "
            f"{server.log.count():6,} requests in all, {seconds:5.1f} s  (KR {status})"
        )
        moved = 0
        for count in moves:
            before, writes = _marks(tool, ids), tool.write_count()
            for external_id in ids[moved : moved + count]:
                tool.set_status(external_id, StatusCategory.DONE)
            moved += count
            report, seconds = sync()
            after = _marks(tool, ids)
            touched = sum(1 for i in ids if after[i] != before[i])
            new = report.evaluation.key_results["kr-reviews"].status.value  # type: ignore[union-attr]
            print(
                f"  {count:3} task move(s): {tool.write_count() - writes:6,} writes on "
                f"{touched:4} task(s), {seconds:5.1f} s  (KR {status} -> {new})"
            )
            status = new
        store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--moves", default="1,20", help="comma-separated move counts")
    args = parser.parse_args()
    run(args.tasks, [int(n) for n in args.moves.split(",")])


if __name__ == "__main__":
    main()
