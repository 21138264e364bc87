"""Bodies of `demo` and `sandbox`: the worked example against the built-in tool simulators."""

from __future__ import annotations

import os
import shlex
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
    from okrbridge.sync.runner import SyncReport


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
    from rich.text import Text

    from okrbridge.cli.footprint import print_footprint
    from okrbridge.cli.status import print_status, run_json
    from okrbridge.cli.sync import RichObserver, _progress, print_summary
    from okrbridge.config import ConfigError, load_config
    from okrbridge.connector.registry import default_registry
    from okrbridge.domain import CheckIn
    from okrbridge.sandbox.history import INSTALLS_NOW, seed_history
    from okrbridge.sandbox.worked_example import SEED, demo_timeframe, render_config
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
    today = date.today()
    with running_simulators() as sims:
        if not sims:
            fail("no connector with a simulator is installed", EXIT_FAILURE)
        env = dict(os.environ)
        for _, _, tool in sims:
            env.update(tool.env())
        config_path.write_text(
            render_config([s for s, _, _ in sims], f"sqlite:///{db}", today), encoding="utf-8"
        )
        try:
            loaded = load_config(config_path, env=env, registry=default_registry())
        except ConfigError as exc:
            fail(f"the demo's own config is invalid (a bug):\n{exc}")
        console.print(
            Text(
                "Simulators: "
                + ", ".join(f"{s.instance} ({s.type}) at {srv.url}" for s, srv, _ in sims)
            )
        )
        store = Store(f"sqlite:///{db}")
        try:
            upgrade(store)
            now = datetime.now(UTC)
            with store.session() as session:
                sync_definitions(session, loaded.config.objectives, loaded.config.initiatives)
            weeks = seed_history(
                store,
                loaded.config,
                {s.instance: SEED[s.type] for s, _, _ in sims},
                demo_timeframe(today)[0],
                now,
            )
            console.print(
                Text(f"History: {weeks} weekly check-ins and evaluations since the quarter began.")
            )
            with store.session() as session:
                add_checkin(
                    session,
                    CheckIn(
                        key_result_id="kr-installs",
                        value=INSTALLS_NOW,
                        at=now,
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
            console.print(Text("\nWhat landed in each tool", style="bold underline"))
            print_footprint(console, report)
            print_summary(report)
            _print_tool_counts(sims)
        finally:
            store.dispose()
    _print_next_steps(config_path, report, time.monotonic() - began)
    if not report.ok:
        raise typer.Exit(EXIT_FAILURE)


def _print_tool_counts(sims: list[tuple[Seeded, SandboxServer, SimulatedTool]]) -> None:
    """The writes each simulator itself counted (reads sent by POST are not writes)."""
    from rich.text import Text

    counted = ", ".join(f"{seeded.instance} {tool.write_count()}" for seeded, _, tool in sims)
    stdout().print(Text(f"Writes counted by the simulators themselves: {counted}.", style="dim"))


def _first_task(report: SyncReport) -> str | None:
    for connector in report.connectors:
        for plan in connector.planned:
            return f"{connector.instance}:{plan.planned.change.task.key}"
    return None


def _print_next_steps(config_path: Path, report: SyncReport, seconds: float) -> None:
    from rich.text import Text

    task = _first_task(report) or "jira-mkt:MKT-1"
    quoted = shlex.quote(str(config_path))
    stdout().print(
        Text(
            f"\nDone in {seconds:.1f} s. Three things to try next:\n"
            f"  1. Open the dashboard (burn-ups, forecasts):\n"
            f"       okrbridge serve-dashboard --config {quoted}\n"
            f"  2. Ask why a task maps where it does, and what it carries:\n"
            f"       okrbridge explain {task} --config {quoted}\n"
            "  3. Point it at your own tool: `okrbridge init` writes a config to edit; "
            "docs/mapping.md shows how to map your Jira project, GitHub project or Trello "
            "board (`okrbridge sandbox` serves these simulators to practise against).\n"
            f"  The weekly update over this quarter: okrbridge report --config {quoted}"
        ),
        soft_wrap=True,
    )


def run_sandbox(port: int) -> None:
    from okrbridge.sandbox import describe_sandbox
    from okrbridge.sandbox.worked_example import render_config

    store = demo_dir(None).parent / "sandbox" / "okrbridge-sandbox.sqlite3"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.unlink(missing_ok=True)  # fresh simulators, fresh ids: yesterday's tasks are gone
    with running_simulators(port) as sims:
        if not sims:
            fail("no connector with a simulator is installed", EXIT_FAILURE)
        servers = {s.instance: (srv.url, tool) for s, srv, tool in sims}
        config = render_config([s for s, _, _ in sims], f"sqlite:///{store}", date.today())
        # Raw text: these lines are meant to be copied, so no wrapping or markup.
        typer.echo(describe_sandbox(servers, config))
        typer.echo(
            "\nSeeded with the README's worked example. Export the credentials above, save the "
            "complete okrbridge.toml above (its initiatives match the seeded tasks), then run "
            "`okrbridge sync --dry-run`, `okrbridge sync` and `okrbridge explain "
            "jira-mkt:MKT-3` as often as you like.\n"
            "Serving until Ctrl-C ..."
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            stdout().print("stopped")
