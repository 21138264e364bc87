"""Soak of a long rollout sharing the road: pull cadence and lease share under push load.

One daemon's jobs (`SyncJobs` with its real APScheduler: incremental pulls every `--pull`
seconds, follow-up drain slices) over a memory tool with `--tasks` tasks and a slow write
budget (`--writes-per-minute`: the queue holds far more than the run can write, as in a 22-hour
Jira rollout), while a webhook push arrives every `--push-min`..`--push-max` seconds (the
soak's 5-20 s, scaled down with the pull interval). Run twice: with the daemon's slices, and
`unsliced` (every drain runs until the queue is empty, as before).

Figures per mode, from the recorded runs: the share of the wall time the instance was held by
push jobs (webhook pushes and drain slices) and by pulls, the longest gap between two pull
starts (the target: about one pull interval), pulls run, and writes made; CPU time next to
wall time (the machine is shared).

    python bench/bench_slices.py [--seconds 60] [--pull 5] [--jitter 1] [--tasks 3000]
                                 [--writes-per-minute 600] [--push-min 0.5] [--push-max 2]
                                 [--only sliced|unsliced] [--pg URL]

PostgreSQL uses `--pg` or $OKRBRIDGE_TEST_PG_URL (a private schema, dropped afterwards).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from okrbridge.config.schema import ScheduleSettings  # noqa: E402
from okrbridge.connector.registry import ConnectorRegistry  # noqa: E402
from okrbridge.domain import StatusCategory  # noqa: E402
from okrbridge.logs import configure_logging  # noqa: E402
from okrbridge.runtime.metrics import DaemonMetrics  # noqa: E402
from okrbridge.sandbox import SandboxServer, SeedTask  # noqa: E402
from okrbridge.scheduler import (  # noqa: E402
    Debouncer,
    HealthBoard,
    Leases,
    SyncJobs,
    build_scheduler,
)
from okrbridge.scheduler.jobs import JobKind  # noqa: E402
from okrbridge.store.db import Store  # noqa: E402
from okrbridge.store.migrate import upgrade  # noqa: E402
from okrbridge.store.models import SyncRunRow  # noqa: E402
from okrbridge.store.testing import isolated_pg_url  # noqa: E402
from okrbridge.sync.drain import DrainBound  # noqa: E402
from tests.support.memory import MemoryConnector, MemorySettings, MemoryTool  # noqa: E402
from tests.support.okr import okr_config  # noqa: E402

PUSH_KINDS = ("push", "drain")
PULL_KINDS = ("incremental", "full")


class UnslicedJobs(SyncJobs):
    """The jobs as they were: a drain runs until the queue is empty."""

    def _bound(self, instance: str, kind: JobKind, fired: float) -> DrainBound:
        return DrainBound(budget=self._budget(instance))


def soak(url: str, args: argparse.Namespace, sliced: bool) -> dict[str, Any]:
    tool = MemoryTool()
    for n in range(args.tasks):
        tool.add_task(SeedTask(f"task {n}", "MKT", StatusCategory.IN_PROGRESS, ("reviews",)))
    registry = ConnectorRegistry()
    registry.register(MemoryConnector)
    store = Store(url)
    upgrade(store)
    with ExitStack() as stack:
        stack.callback(store.dispose)
        server = stack.enter_context(SandboxServer(tool.app))
        settings = MemorySettings(
            **tool.settings(server.url), write_budget_per_minute=args.writes_per_minute
        )
        schedule = ScheduleSettings(
            pull_interval=timedelta(seconds=args.pull),
            jitter=timedelta(seconds=args.jitter),
            drain_slice=timedelta(seconds=args.slice),
        )
        config = okr_config("mem", settings).model_copy(update={"schedule": schedule})
        kind = SyncJobs if sliced else UnslicedJobs
        jobs = kind(
            config, store, registry, tool.env(), Leases(store, 10.0, owner="bench"),
            HealthBoard(["mem"]), DaemonMetrics(), threading.Event(),
        )  # fmt: skip
        scheduler = build_scheduler(jobs, ["mem"])
        debouncer = Debouncer(scheduler, timedelta(seconds=0.3), jobs.push)
        stopping = threading.Event()

        def webhooks() -> None:
            rng = random.Random(13)
            while not stopping.wait(rng.uniform(args.push_min, args.push_max)):
                tool.set_status(f"T{rng.randint(1, args.tasks)}", StatusCategory.DONE)
                debouncer.trigger("mem")  # what the inbox worker does after a delivery

        pusher = threading.Thread(target=webhooks, daemon=True)
        cpu0, wall0 = _cpu(), time.monotonic()
        scheduler.start()
        pusher.start()
        stopping.wait(args.seconds)
        stopping.set()
        jobs.stopping.set()
        scheduler.shutdown(wait=True)
        pusher.join(timeout=60)
        wall, cpu = time.monotonic() - wall0, _cpu() - cpu0
        with store.session() as session:
            runs = session.execute(
                select(
                    SyncRunRow.kind,
                    SyncRunRow.started_at,
                    SyncRunRow.finished_at,
                    SyncRunRow.writes_made,
                ).order_by(SyncRunRow.started_at)
            ).all()
    if args.runs:
        for kind_, started, finished, writes in runs:
            took = "running" if finished is None else f"{(finished - started).total_seconds():.2f}"
            print(f"  {started:%H:%M:%S.%f} {kind_:11} {took:>7} s {writes or 0:>4} writes")
    first = runs[0][1]
    end = first + timedelta(seconds=wall)
    held = {"push": 0.0, "pull": 0.0}
    for kind_, started, finished, _ in runs:
        seconds = ((finished or end) - started).total_seconds()
        held["push" if kind_ in PUSH_KINDS else "pull"] += seconds
    pulls = [started for kind_, started, _, _ in runs if kind_ in PULL_KINDS] + [end]
    gaps = [(b - a).total_seconds() for a, b in pairwise(pulls)]
    return {
        "wall": wall,
        "cpu": cpu,
        "push_share": held["push"] / wall,
        "pull_share": held["pull"] / wall,
        "max_gap": max(gaps),
        "pulls": len(pulls) - 1,
        "pushes": sum(1 for r in runs if r[0] == "push"),
        "slices": sum(1 for r in runs if r[0] == "drain"),
        "writes": sum(r[3] or 0 for r in runs),
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pull", type=float, default=5.0, help="pull interval, seconds")
    parser.add_argument("--jitter", type=float, default=1.0, help="schedule.jitter, seconds")
    parser.add_argument("--slice", type=float, default=60.0, help="schedule.drain_slice")
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--writes-per-minute", type=int, default=600)
    parser.add_argument("--push-min", type=float, default=0.5)
    parser.add_argument("--push-max", type=float, default=2.0)
    parser.add_argument("--only", choices=["sliced", "unsliced"])
    parser.add_argument("--pg", default=os.environ.get("OKRBRIDGE_TEST_PG_URL"))
    parser.add_argument("--runs", action="store_true", help="list every run of each soak")
    args = parser.parse_args()
    configure_logging(level=os.environ.get("BENCH_LOG", "ERROR"))
    modes = [args.only == "sliced"] if args.only else [True, False]
    stores = ["sqlite"] + (["postgres"] if args.pg else [])
    print(
        f"{args.tasks} tasks, {args.writes_per_minute} writes/min, pull every {args.pull:g} s, "
        f"jitter {args.jitter:g} s, a push every {args.push_min:g}-{args.push_max:g} s, "
        f"{args.seconds:g} s per run"
    )
    header = (
        f"{'store':9} {'mode':9} {'push share':>10} {'pull share':>10} {'max pull gap':>12} "
        f"{'pulls':>5} {'pushes':>6} {'slices':>6} {'writes':>6} {'wall s':>7} {'cpu s':>6}"
    )
    print(header)
    for store in stores:
        for sliced in modes:
            with ExitStack() as stack:
                if store == "sqlite":
                    folder = stack.enter_context(tempfile.TemporaryDirectory())
                    url = f"sqlite:///{folder}/bench.sqlite3"
                else:
                    url = stack.enter_context(isolated_pg_url(args.pg))
                r = soak(url, args, sliced)
            print(
                f"{store:9} {'sliced' if sliced else 'unsliced':9} {r['push_share']:>10.0%} "
                f"{r['pull_share']:>10.0%} {r['max_gap']:>11.1f}s {r['pulls']:>5} "
                f"{r['pushes']:>6} {r['slices']:>6} {r['writes']:>6} {r['wall']:>7.1f} "
                f"{r['cpu']:>6.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
