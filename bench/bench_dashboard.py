"""Dashboard benchmark: the overview `/` over a synthetic store of N tasks (default 100,000).

Builds the store with one sync (`bench_scale`'s synthetic connector: a full pull, compute,
first-rollout planning, the queue settled as if drained, so tasks carry status labels), then,
in a fresh process, serves the dashboard app in-process (`TestClient`) and measures:

- `first`: the first `/` of a fresh process (the evaluation is not cached yet);
- `cached`: the median of `--repeat` further `/` requests;
- `after_sync`: the first `/` after another sync (one changed task) recorded a new evaluation;
- `initiative_page`: the median of `--repeat` requests for the second page of one initiative's
  tasks (`/initiatives/{id}?page=2`; 404 on code without that page);
- bytes of `/`, and peak RSS (VmHWM) of the serving process.

Times are wall and CPU seconds (`resource.getrusage`: the machine may be shared).

    python bench/bench_dashboard.py --n 100000
    python bench/bench_dashboard.py --n 100000 --initiatives 1000   # bench_scale's OKRs
    python bench/bench_dashboard.py --n 100000 --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

It drives only `run_sync` and `create_dashboard_app`, so the same script measures older code
(`PYTHONPATH=<checkout>`), which gives the "before" figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_scale
from bench_scale import NOW, SyntheticConnector, okr_config, open_store

from okrbridge.config.schema import Config, ConnectorSettings
from okrbridge.domain import Initiative, KeyResult, KeyResultLink, MatchRule, Objective

INSTANCE = "synthetic"
bench_scale.SCHEMA = "bench_dashboard"  # a PostgreSQL schema of its own, beside bench_scale's
LABELS = 1000
"""`bench_scale.make_task` labels two thirds of the tasks `init-<i % 1000>`."""


def dashboard_config(initiatives: int) -> Config:
    """`bench_scale`'s 1,000 initiatives under 300 key results, or `initiatives` initiatives
    (each matching an equal share of the 1,000 task labels) under about 0.3 key results each."""
    if initiatives == LABELS:
        return okr_config(INSTANCE)
    objectives = max(2, round(initiatives / 33))
    per_objective = max(3, round(initiatives * 0.3 / objectives))
    kr_ids = [f"kr-{o}-{k}" for o in range(objectives) for k in range(per_objective)]
    base = okr_config(INSTANCE)
    return Config(
        connectors={INSTANCE: ConnectorSettings(type="synthetic", base_url="http://127.0.0.1:1")},
        objectives=[
            Objective(
                id=f"obj-{o}",
                title=f"Objective {o}",
                start=base.objectives[0].start,
                end=base.objectives[0].end,
                key_results=[
                    KeyResult(
                        id=f"kr-{o}-{k}", title=f"KR {o}.{k}", target=100, source="initiatives"
                    )
                    for k in range(per_objective)
                ],
            )
            for o in range(objectives)
        ],
        initiatives=[
            Initiative(
                id=f"init-{i}",
                title=f"Initiative {i}",
                key_results=[KeyResultLink(id=kr_ids[i % len(kr_ids)])],
                match=[
                    MatchRule(
                        connector=INSTANCE,
                        labels_any=[f"init-{j}" for j in range(i, LABELS, initiatives)],
                    )
                ],
            )
            for i in range(initiatives)
        ],
    )


def sync(n: int, url: str, initiatives: int, *, first: bool, moved: list[int]) -> dict[str, Any]:
    """One sync: a full first pull into a fresh store, or an incremental one an hour later."""
    import okrbridge.sync.runner as runner
    from okrbridge.connector.registry import ConnectorRegistry

    store = open_store(url, fresh=first)
    vars(runner)["drain"] = bench_scale._no_drain  # the queue is settled below, not drained
    registry = ConnectorRegistry()
    registry.register(SyntheticConnector)
    SyntheticConnector.total, SyntheticConnector.moved = n, moved
    t0, cpu0 = time.perf_counter(), bench_scale._cpu()
    now = NOW if first else NOW + timedelta(hours=1)
    report = runner.run_sync(dashboard_config(initiatives), store, registry, env={}, now=now)
    assert report.ok, [c.error for c in report.connectors]
    store.dispose()
    return {
        "sync_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(bench_scale._cpu() - cpu0, 1),
    }


def timed(call: Any) -> tuple[Any, float, float]:
    t0, cpu0 = time.perf_counter(), bench_scale._cpu()
    result = call()
    return result, time.perf_counter() - t0, bench_scale._cpu() - cpu0


def serve(n: int, url: str, initiatives: int, repeat: int) -> dict[str, Any]:
    """Measure the dashboard app over the built store (in this process)."""
    from fastapi.testclient import TestClient

    from okrbridge.web.dashboard import DashboardAuth, create_dashboard_app

    store = open_store(url)
    app = create_dashboard_app(
        dashboard_config(initiatives), store, auth=DashboardAuth(), clock=lambda: NOW
    )
    figures: dict[str, Any] = {"n": n, "db": url.split(":", 1)[0].split("+", 1)[0]}
    figures["initiatives"] = initiatives
    with TestClient(app) as client:
        response, wall, cpu = timed(lambda: client.get("/"))
        assert response.status_code == 200, response.text[:500]
        figures["bytes"] = len(response.content)
        figures["first"] = {"wall_ms": round(wall * 1000), "cpu_ms": round(cpu * 1000)}
        figures["cached"] = _median(repeat, lambda: client.get("/"))
        # Another sync in its own process records a new evaluation; the next `/` sees it.
        figures["sync"] = _child("sync", n, url, initiatives, moved=n // 2 + 2)
        response, wall, cpu = timed(lambda: client.get("/"))
        figures["after_sync"] = {"wall_ms": round(wall * 1000), "cpu_ms": round(cpu * 1000)}
        figures["bytes_after_sync"] = len(response.content)
        page = client.get("/initiatives/init-1?page=2")
        figures["initiative_page_status"] = page.status_code
        figures["initiative_page_bytes"] = len(page.content)
        figures["initiative_page"] = _median(
            repeat, lambda: client.get("/initiatives/init-1?page=2")
        )
    store.dispose()
    figures["peak_rss_mb"] = round(bench_scale._peak_rss_mb())
    return figures


def _median(repeat: int, call: Any) -> dict[str, int]:
    walls, cpus = [], []
    for _ in range(repeat):
        _, wall, cpu = timed(call)
        walls.append(wall)
        cpus.append(cpu)
    return {
        "wall_ms": round(statistics.median(walls) * 1000),
        "cpu_ms": round(statistics.median(cpus) * 1000),
    }


def _child(name: str, n: int, url: str, initiatives: int, moved: int = -1) -> dict[str, Any]:
    args = [sys.executable, __file__, "--phase", name, str(n), url, str(initiatives), str(moved)]
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--initiatives", type=int, default=40)
    parser.add_argument("--pg", help="a PostgreSQL URL (instead of a SQLite file)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", help="SQLite file to build (or reuse with --reuse)")
    parser.add_argument("--reuse", action="store_true", help="measure an already built store")
    parser.add_argument("--phase", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        name, n, url, initiatives, moved = args.phase
        if name == "serve":
            result = serve(int(n), url, int(initiatives), args.repeat)
        elif name == "settle":
            result = bench_scale.settle(url)
        else:
            first = name == "build"
            result = sync(int(n), url, int(initiatives), first=first, moved=[int(moved)])
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg or f"sqlite:///{args.keep or Path(tmp) / 'dashboard.sqlite3'}"
        if not args.reuse:
            print(json.dumps({"build": _child("build", args.n, url, args.initiatives)}))
            print(json.dumps({"settle": _child("settle", args.n, url, args.initiatives)}))
        print(json.dumps(_child("serve", args.n, url, args.initiatives)), flush=True)


if __name__ == "__main__":
    main()
