"""Bodies of `demo` and `sandbox`: the worked example against the built-in tool simulators."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from okrbridge.cli.common import EXIT_FAILURE, fail, stdout

if TYPE_CHECKING:
    from okrbridge.sandbox import SandboxServer, SimulatedTool
    from okrbridge.sandbox.worked_example import Seeded


@contextmanager
def running_simulators(
    port: int = 0,
) -> Iterator[list[tuple[Seeded, SandboxServer, SimulatedTool]]]:
    """Start and seed a simulator for every installed connector type of the worked example."""
    from okrbridge.connector.registry import RegistryError, default_registry
    from okrbridge.sandbox import SandboxServer
    from okrbridge.sandbox.worked_example import INSTANCES, SEED, Seeded

    registry = default_registry()
    started = []
    with ExitStack() as stack:
        for offset, (kind, instance) in enumerate(INSTANCES.items()):
            try:
                tool = registry.get(kind).simulator()
            except (RegistryError, NotImplementedError):
                continue
            server = stack.enter_context(SandboxServer(tool.app, port=port + offset if port else 0))
            for task in SEED[kind]:
                tool.add_task(task)
            seeded = Seeded(kind, instance, tool.settings(server.url))
            started.append((seeded, server, tool))
        yield started


def demo_dir(directory: Path | None) -> Path:
    from platformdirs import user_data_dir

    path = directory or Path(user_data_dir("okrbridge")) / "demo"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_demo(directory: Path | None) -> None:
    from okrbridge.cli.status import print_status, run_json
    from okrbridge.cli.sync import RichObserver, _progress, print_summary
    from okrbridge.config import ConfigError, load_config
    from okrbridge.connector.registry import default_registry
    from okrbridge.domain import CheckIn
    from okrbridge.sandbox.worked_example import render_config
    from okrbridge.store.db import Store
    from okrbridge.store.migrate import upgrade
    from okrbridge.store.repos.definitions import sync_definitions
    from okrbridge.store.repos.history import add_checkin
    from okrbridge.store.repos.runs import last_runs
    from okrbridge.sync.runner import run_sync

    console = stdout()
    began = time.monotonic()
    home = demo_dir(directory)
    db = home / "okrbridge-demo.sqlite3"
    db.unlink(missing_ok=True)
    config_path = home / "okrbridge.toml"
    with running_simulators() as sims:
        if not sims:
            fail("no connector with a simulator is installed", EXIT_FAILURE)
        env = dict(os.environ)
        for _, _, tool in sims:
            env.update(tool.env())
        config_path.write_text(
            render_config([s for s, _, _ in sims], f"sqlite:///{db}", date.today()),
            encoding="utf-8",
        )
        try:
            loaded = load_config(config_path, env=env, registry=default_registry())
        except ConfigError as exc:
            fail(f"the demo's own config is invalid (a bug):\n{exc}")
        console.print(
            "Simulators: "
            + ", ".join(f"{s.instance} ({s.type}) at {srv.url}" for s, srv, _ in sims)
        )
        store = Store(f"sqlite:///{db}")
        try:
            upgrade(store)
            with store.session() as session:
                sync_definitions(session, loaded.config.objectives, loaded.config.initiatives)
                add_checkin(
                    session,
                    CheckIn(
                        key_result_id="kr-installs",
                        value=118_000,
                        at=datetime.now(UTC),
                        note="from the store dashboards",
                    ),
                )
            with _progress() as progress:
                report = run_sync(
                    loaded.config,
                    store,
                    default_registry(),
                    observer=RichObserver(progress),
                    env=env,
                )
            assert report.evaluation is not None
            with store.session() as session:
                runs = {name: run_json(run) for name, run in last_runs(session).items()}
            print_status(loaded.config, report.evaluation, runs)
            print_summary(report)
            _print_writes(sims)
        finally:
            store.dispose()
    console.print(
        f"\nDone in {time.monotonic() - began:.1f} s. Explore the store with:\n"
        f"  okrbridge status --config {config_path}\n"
        "Try your own config against live simulators with: okrbridge sandbox"
    )
    if not report.ok:
        raise typer.Exit(EXIT_FAILURE)


def _print_writes(sims: list[tuple[Seeded, SandboxServer, SimulatedTool]]) -> None:
    console = stdout()
    for seeded, server, tool in sims:
        calls = [r for r in server.log.snapshot() if r.method != "GET"]
        console.print(
            f"[bold]{seeded.instance}[/]: {tool.write_count()} write(s) to the tool; its "
            f"{len(calls)} non-GET call(s) (reads such as Jira's search use POST too):"
        )
        for request in calls:
            console.print(f"  {request.method} {request.path} -> {request.status}", markup=False)


def run_sandbox(port: int) -> None:
    from okrbridge.sandbox import describe_sandbox

    with running_simulators(port) as sims:
        if not sims:
            fail("no connector with a simulator is installed", EXIT_FAILURE)
        servers = {s.instance: (srv.url, tool) for s, srv, tool in sims}
        # Raw text: these lines are meant to be copied, so no wrapping or markup.
        typer.echo(describe_sandbox(servers))
        typer.echo(
            "Seeded with the README's worked example. Export the credentials above, put the "
            "connector tables into your okrbridge.toml (`okrbridge init` writes one), then run "
            "`okrbridge sync --dry-run` and `okrbridge sync` as often as you like.\n"
            "Serving until Ctrl-C ..."
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            stdout().print("stopped")
