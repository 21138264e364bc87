"""Scale benchmark: a synthetic store of N tasks (default 1,000,000), one sync at a time.

Phases, each in a fresh process (so peak RSS is its own), on one store:

- `first`: full pull of N tasks into an empty store, compute, first-rollout planning (the
  queue write of every mapped task); the drain is replaced by a no-op.
- `queued`: incremental sync, the tool reports nothing changed, the rollout still queued
  (a long rollout under way: the queue must not be planned again).
- (setup, not measured: the queue is settled as if drained: push state written, rows gone)
- `steady`: incremental sync, the tool reports nothing changed.
- `one`: incremental sync, the tool reports one changed task.
- `full`: `sync --full`: full pull of N unchanged tasks, full recount, every task planned.
  The synthetic tool does not keep what the settle step pretends was written, so each mapped
  task is planned its status label again: an upper bound of the planning work.
- `report`: `okrbridge report` over the store (Markdown, default caps) five weeks later, when
  the key results are behind and every open task is stalled: bytes, time, RSS.

Each prints wall and CPU seconds (`resource.getrusage`: the machine may be shared), the
planning part (plan + queue write), writes planned and peak RSS (VmHWM).

    python bench/bench_scale.py --n 100000
    python bench/bench_scale.py --n 1000000 --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

It uses only `run_sync` and the store models, so the same script measures older code
(`PYTHONPATH=<checkout>`), which gives the "before" figures.
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
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

from okrbridge.config.schema import Config, ConnectorSettings
from okrbridge.connector.base import Capability, Connector, Page, PushChange, PushResult
from okrbridge.domain import (
    Initiative,
    KeyResult,
    KeyResultLink,
    MatchRule,
    Objective,
    StatusCategory,
    Task,
)

PAGE = 1000
CATEGORIES = list(StatusCategory)
NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
SCHEMA = "bench_scale"
"""The PostgreSQL schema the bench drops and fills (`--schema`: two runs at once need two)."""


def make_task(instance: str, i: int, moved: bool = False) -> Task:
    """Task i: two thirds serve one of 1,000 initiatives (by label), a third serve none."""
    category = CATEGORIES[(i * 7919) % 3]
    if moved:
        category = CATEGORIES[(CATEGORIES.index(category) + 1) % 3]
    labels = (f"team-{i % 7}",) if i % 3 == 0 else (f"team-{i % 7}", f"init-{i % 1000}")
    return Task(
        connector=instance,
        external_id=str(i),
        key=f"P{i % 50}-{i}",
        title=f"task {i}",
        container=f"P{i % 50}",
        status_category=category,
        labels=labels,
        estimate=float(i % 8),
        updated_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


class SyntheticConnector(Connector[ConnectorSettings]):
    """A full pull yields all N tasks in pages; an incremental pull yields `moved` only."""

    name: ClassVar[str] = "synthetic"
    settings_model: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.LABELS, Capability.COMMENTS}
    )
    total = 0
    moved: ClassVar[list[int]] = []

    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        if cursor is not None and not full:
            yield Page([make_task(self.instance, i, moved=True) for i in self.moved], cursor)
            return
        for start in range(0, self.total, PAGE):
            stop = min(start + PAGE, self.total)
            tasks = [make_task(self.instance, i) for i in range(start, stop)]
            yield Page(tasks, cursor=json.dumps({"i": stop}) if stop == self.total else None)

    def apply(self, change: PushChange) -> PushResult:
        return PushResult(requests=0)


def okr_config(instance: str) -> Config:
    objectives = [
        Objective(
            id=f"obj-{o}",
            title=f"Objective {o}",
            start=date(2026, 10, 1),
            end=date(2026, 12, 31),
            key_results=[
                KeyResult(
                    id=f"kr-{o}-{k}",
                    title=f"KR {o}.{k}",
                    start=0,
                    target=100,
                    source="initiatives",
                )
                for k in range(10)
            ],
        )
        for o in range(30)
    ]
    initiatives = [
        Initiative(
            id=f"init-{i}",
            title=f"Initiative {i}",
            key_results=[KeyResultLink(id=f"kr-{(i % 300) // 10}-{i % 10}")],
            match=[MatchRule(connector=instance, labels_any=[f"init-{i}"])],
        )
        for i in range(1000)
    ]
    settings = ConnectorSettings(type="synthetic", base_url="http://127.0.0.1:1")
    return Config(connectors={instance: settings}, objectives=objectives, initiatives=initiatives)


def open_store(url: str, *, fresh: bool = False) -> Any:
    from sqlalchemy import text

    from okrbridge.store.db import Store
    from okrbridge.store.migrate import upgrade

    if url.startswith("postgresql"):
        if fresh:
            admin = Store(url)
            with admin.session() as session:
                session.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                session.execute(text(f"CREATE SCHEMA {SCHEMA}"))
            admin.dispose()
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{SCHEMA}"
    store = Store(url)
    if fresh:
        upgrade(store)
    return store


def _timed(module: Any, name: str, spent: list[float]) -> None:
    """Wrap `module.name` so that its wall and CPU time add to `spent[0]` and `spent[1]`."""
    original: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0, cpu0 = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t0
            spent[1] += time.process_time() - cpu0

    setattr(module, name, wrapper)


def phase(name: str, n: int, url: str) -> dict[str, Any]:
    import okrbridge.sync.runner as runner
    from okrbridge.connector.registry import ConnectorRegistry

    store = open_store(url, fresh=name == "first")
    vars(runner)["drain"] = _no_drain  # planning and the queue are measured, not a tool
    planning = [0.0, 0.0]  # wall, CPU
    _timed(runner, "plan_connector", planning)
    _timed(runner.QueueReplacement, "add", planning)
    _timed(runner, "plan_pages", planning)
    registry = ConnectorRegistry()
    registry.register(SyntheticConnector)
    SyntheticConnector.total = n
    SyntheticConnector.moved = [n // 2 + 2] if name == "one" else []  # a mapped task
    t0, cpu0 = time.perf_counter(), _cpu()
    report = runner.run_sync(
        okr_config("synthetic"), store, registry, env={}, now=NOW, full=name == "full"
    )
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    assert report.ok, [c.error for c in report.connectors]
    store.dispose()
    return {
        "phase": name,
        "n": n,
        "db": url.split(":", 1)[0].split("+", 1)[0],
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_process_s": round(_cpu(), 2),
        "planning_s": round(planning[0], 2),
        "planning_cpu_s": round(planning[1], 2),
        "tasks_planned": sum(c.counts.tasks for c in report.connectors),
        "writes_planned": sum(c.writes_planned for c in report.connectors),
        "peak_rss_mb": round(_peak_rss_mb()),
    }


def report_phase(n: int, url: str) -> dict[str, Any]:
    from datetime import timedelta

    from okrbridge.report import build_report, render_markdown

    store = open_store(url)
    later = NOW + timedelta(days=35)
    t0, cpu0 = time.perf_counter(), _cpu()
    report = build_report(
        store, okr_config("synthetic"), now=later, since=later - timedelta(days=7)
    )
    text = render_markdown(report)
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    store.dispose()
    return {
        "phase": "report",
        "n": n,
        "db": url.split(":", 1)[0].split("+", 1)[0],
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "bytes": len(text.encode()),
        "at_risk": len(report.at_risk),
        "problem_tasks": sum(len(r.tasks) + r.more for r in report.at_risk),
        "peak_rss_mb": round(_peak_rss_mb()),
    }


def _no_drain(*args: Any, **kwargs: Any) -> Any:
    from okrbridge.sync.drain import DrainResult

    return DrainResult()


def settle(url: str) -> dict[str, Any]:
    """As if the drain had written every queued change: push state saved, queue emptied."""
    from sqlalchemy import Table, delete, insert, select

    from okrbridge.store.models import PushQueueRow, PushStateRow

    store = open_store(url)
    states: Table = PushStateRow.__table__  # type: ignore[assignment]
    columns = set(states.c.keys())
    t0 = time.perf_counter()
    count = 0
    with store.session() as session:
        rows = session.execute(
            select(PushQueueRow.task_id, PushQueueRow.connector, PushQueueRow.change)
        ).all()
        batch: list[dict[str, Any]] = []
        for task_id, connector, change in rows:
            after = change["after"]
            row = {
                "task_id": task_id,
                "connector": connector,
                "label": after["label"],
                "comment_id": f"c{task_id}" if change.get("comment") else None,
                "comment_hash": after["comment_hash"],
                "field_value": after["field_value"],
                "updated_at": NOW,
                "figures_at": NOW,
                "comment_absent": False,
            }
            batch.append({k: v for k, v in row.items() if k in columns})
            count += 1
            if len(batch) == 5000:
                session.execute(insert(states), batch)
                batch = []
        if batch:
            session.execute(insert(states), batch)
        session.execute(delete(PushQueueRow))
    store.dispose()
    return {"settled": count, "settle_s": round(time.perf_counter() - t0, 1)}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    """VmHWM of this process (ru_maxrss would include what a parent process reached)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    global SCHEMA
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--pg", help="a PostgreSQL URL (instead of a SQLite file)")
    parser.add_argument("--phases", default="first,queued,settle,steady,one,full,report")
    parser.add_argument("--schema", default=SCHEMA, help="PostgreSQL schema to use (dropped!)")
    parser.add_argument("--keep", help="SQLite file to use (and keep) instead of a temp one")
    parser.add_argument("--phase", nargs=3, metavar=("NAME", "N", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    SCHEMA = args.schema
    if args.phase:
        name, n, url = args.phase
        if name == "settle":
            print(json.dumps(settle(url)))
        elif name == "report":
            print(json.dumps(report_phase(int(n), url)))
        else:
            print(json.dumps(phase(name, int(n), url)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg or f"sqlite:///{args.keep or Path(tmp) / 'scale.sqlite3'}"
        for name in args.phases.split(","):
            figures = _child("--schema", args.schema, "--phase", name, str(args.n), url)
            print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    random.seed(1)
    main()
