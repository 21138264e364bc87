"""Bodies of `sync` and `cleanup`: progress while working, then a summary (or JSON).

A push shows its ETA, from the rate observed so far but never faster than the instance's write
budget allows. Ctrl-C (or SIGTERM) stops the sync after the write in flight: the run is
recorded as `interrupted`, the rest stays queued, and the next `okrbridge sync` resumes it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from okrbridge.cli.common import EXIT_FAILURE, EXIT_USAGE, fail, load, open_store, stderr, stdout
from okrbridge.cli.explain import print_unmatched, unmatched_lines
from okrbridge.cli.footprint import FootprintFile

if TYPE_CHECKING:
    from rich.progress import Progress, Task, TaskID
    from rich.text import Text

    from okrbridge.config.schema import Config
    from okrbridge.store.db import Store
    from okrbridge.sync.cleanup import CleanupReport
    from okrbridge.sync.runner import SyncReport


class RichObserver:
    """Progress bars per connector: pages and tasks pulled, then writes pushed with an ETA."""

    def __init__(self, progress: Progress, budgets: Mapping[str, float] | None = None) -> None:
        self.progress = progress
        self.budgets = dict(budgets or {})
        """Writes per second each instance may make (its write budget): the ETA's floor."""
        self.pull: dict[str, TaskID] = {}
        self.push: dict[str, TaskID] = {}

    def pull_started(self, instance: str, full: bool) -> None:
        label = f"{instance}: {'full pull' if full else 'pull'}"
        self.pull[instance] = self.progress.add_task(label, total=None, unit="tasks")

    def pull_page(self, instance: str, tasks: int) -> None:
        self.progress.advance(self.pull[instance], tasks)

    def push_progress(self, instance: str, done: int, total: int) -> None:
        if instance not in self.push:
            self.progress.update(self.pull[instance], total=1, completed=1)
            self.push[instance] = self.progress.add_task(
                f"{instance}: push",
                total=total,
                unit="changes",
                writes_per_second=self.budgets.get(instance),
            )
        self.progress.update(self.push[instance], completed=done, total=total)


def eta_seconds(remaining: float, speed: float | None, limit: float | None) -> float | None:
    """Seconds left for `remaining` changes at the observed `speed` (changes per second), never
    faster than `limit` (the write budget: a change is at least one write); None: unknown."""
    rates = [rate for rate in (speed, limit) if rate]
    if remaining <= 0:
        return 0.0
    return remaining / min(rates) if rates else None


def _eta_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class EtaColumn(ProgressColumn):
        """`ETA 3:41:07` for a push (observed rate, capped by the write budget)."""

        max_refresh = 0.5

        def render(self, task: Task) -> Text:
            if task.total is None:
                return Text("")
            remaining = task.total - task.completed
            seconds = eta_seconds(remaining, task.speed, task.fields.get("writes_per_second"))
            shown = "-:--:--" if seconds is None else str(timedelta(seconds=int(seconds)))
            return Text(f"ETA {shown}", style="progress.remaining")

    return EtaColumn()


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        _eta_column(),
        console=stderr(),
        transient=False,
        disable=not sys.stderr.isatty(),
    )


def write_budgets(config: Config, names: list[str]) -> dict[str, float]:
    """Writes per second each named instance may make (override, else its connector's default)."""
    from okrbridge.connector.registry import RegistryError, default_registry

    budgets = {}
    for name in names:
        settings = config.connectors[name]
        try:
            default = default_registry().get(settings.type).default_writes_per_minute
        except RegistryError:  # the sync itself reports it
            default = None
        per_minute = settings.write_budget_per_minute or default
        if per_minute:
            budgets[name] = per_minute / 60.0
    return budgets


class SyncStopped(Exception):  # noqa: N818 - reads as an event
    """Raised from a progress hook after Ctrl-C or SIGTERM: the run ends after its write in
    flight."""


def _quiet_stop(record: logging.LogRecord) -> bool:
    """The stop is not an error: the runner's "connector failed" line gets no traceback."""
    if record.exc_info and isinstance(record.exc_info[1], SyncStopped):
        record.exc_info, record.exc_text = None, None
    return True


_SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class _StopOnSignals:
    """While active, Ctrl-C (SIGINT) or SIGTERM asks the sync to stop at its next page or
    change (the write in flight finishes and is recorded); a second one stops at once."""

    def __init__(self) -> None:
        self.signal: signal.Signals | None = None
        self._previous: dict[signal.Signals, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def reason(self) -> str:
        return f"stopped by {_SIGNAL_NAMES.get(self.signal or signal.SIGTERM, 'a signal')}"

    def __enter__(self) -> _StopOnSignals:
        for sig in _SIGNAL_NAMES:
            self._previous[sig] = signal.signal(sig, self._on_signal)
        logging.getLogger("okrbridge.sync.runner").addFilter(_quiet_stop)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        logging.getLogger("okrbridge.sync.runner").removeFilter(_quiet_stop)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        sig = signal.Signals(signum)
        if self.requested:  # the second one: at once
            if sig is signal.SIGINT:
                raise KeyboardInterrupt
            signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(sig)
        self.signal = sig
        if sig is signal.SIGINT:
            stderr().print(
                "Stopping after the write in flight (Ctrl-C again to stop at once)...",
                markup=False,
            )

    def check(self) -> None:
        if self.requested:
            raise SyncStopped(self.reason)

    def observing(self, inner: RichObserver) -> RichObserver:
        stop = self

        class Observer(RichObserver):
            def pull_started(self, instance: str, full: bool) -> None:
                stop.check()
                super().pull_started(instance, full)

            def pull_page(self, instance: str, tasks: int) -> None:
                super().pull_page(instance, tasks)
                stop.check()

            def push_progress(self, instance: str, done: int, total: int) -> None:
                super().push_progress(instance, done, total)
                stop.check()

        return Observer(inner.progress, inner.budgets)


def _record_interrupted(store: Store, run_ids: list[int], reason: str) -> None:
    """The runs a stop signal cut short are recorded as `interrupted` (not `failed`)."""
    from okrbridge.store.repos.runs import interrupt_runs

    with store.session() as session:
        interrupt_runs(session, run_ids, reason)


def _runs_since(store: Store, names: list[str], since: datetime) -> list[int]:
    """Ids of the runs of `names` this command started (a second Ctrl-C left no report)."""
    from sqlalchemy import select

    from okrbridge.store.models import SyncRunRow

    with store.session() as session:
        query = select(SyncRunRow.id).where(
            SyncRunRow.connector.in_(names), SyncRunRow.started_at >= since
        )
        return list(session.scalars(query))


def _say_what_remains(store: Store, names: list[str], reason: str, at_once: bool) -> None:
    from okrbridge.sync.write_queue import pending_count

    with store.session() as session:
        left = {name: pending_count(session, name) for name in names}
    how = (
        "at once (the write in flight is checked by the next sync)"
        if at_once
        else ("after the write in flight; the run is recorded as interrupted")
    )
    lines = [f"sync {reason}, {how}."]
    queued = sum(left.values())
    if queued:
        each = ", ".join(f"{name}: {count:,}" for name, count in left.items() if count)
        lines.append(
            f"{queued:,} change(s) remain queued ({each}); "
            "run `okrbridge sync` again to resume them."
        )
    else:
        lines.append("No change remains queued; the next `okrbridge sync` picks up from here.")
    stderr().print("\n".join(lines), markup=False, soft_wrap=True)


def run_sync_command(
    path: Path | None,
    *,
    dry_run: bool,
    connectors: list[str],
    full: bool,
    as_json: bool,
    out: Path | None = None,
) -> None:
    from okrbridge.connector.registry import default_registry
    from okrbridge.sync.runner import PLAN_SAMPLE, run_sync

    loaded = load(path, only=connectors)
    unknown = [name for name in connectors if name not in loaded.config.connectors]
    if unknown:
        known = ", ".join(loaded.config.connectors) or "none"
        fail(f"unknown connector instance(s) {', '.join(unknown)}; configured: {known}", EXIT_USAGE)
    config = loaded.config
    names = [
        n for n, s in config.connectors.items() if s.enabled and (not connectors or n in connectors)
    ]
    started = datetime.now(UTC)
    with FootprintFile() as listing:  # `--out`: every planned write, streamed page by page
        with open_store(loaded) as store, _progress() as progress, _StopOnSignals() as stop:
            observer = stop.observing(RichObserver(progress, write_budgets(config, names)))
            try:
                report = run_sync(
                    config,
                    store,
                    default_registry(),
                    dry_run=dry_run,
                    full=full,
                    only=connectors,
                    observer=observer,
                    env=dict(os.environ),
                    keep_plans=None if as_json else PLAN_SAMPLE,  # a terminal shows a few
                    plan_sink=None if out is None else listing.add,
                )
            except KeyboardInterrupt:  # a second Ctrl-C
                progress.stop()
                runs = _runs_since(store, names, started)
                _record_interrupted(store, runs, stop.reason + " at once")
                _say_what_remains(store, names, stop.reason, at_once=True)
                raise typer.Exit(EXIT_INTERRUPTED) from None
            if stop.requested:
                ids = [c.run_id for c in report.connectors if c.run_id is not None and not c.ok]
                _record_interrupted(store, ids, stop.reason)
                progress.stop()
                _say_what_remains(store, names, stop.reason, at_once=False)
        if as_json:
            typer.echo(json.dumps(sync_json(report, loaded.config), indent=2))
        else:
            print_footprint(report, out, listing)
            print_summary(report)
            if _has_tasks(report):
                assert report.evaluation is not None
                print_unmatched(stdout(), loaded.config, report.evaluation, report.unmatched_rules)
    if stop.signal is signal.SIGINT:
        raise typer.Exit(EXIT_INTERRUPTED)
    if not report.ok:
        raise typer.Exit(EXIT_FAILURE)


EXIT_INTERRUPTED = 130
"""`okrbridge sync` stopped by Ctrl-C (128 + SIGINT, as shells report it)."""


def sync_json(report: SyncReport, config: Config | None = None) -> dict[str, Any]:
    """The `sync --json` document (stable: fields are only ever added)."""
    from okrbridge.cli.footprint import footprint_json

    notes = (
        unmatched_lines(config, report.evaluation, report.unmatched_rules)
        if config is not None and report.evaluation is not None and _has_tasks(report)
        else []
    )
    return {
        "mapping_notes": notes,
        "dry_run": report.dry_run,
        "ok": report.ok,
        "key_result_status_changes": report.key_result_status_changes,
        "connectors": [
            {
                "instance": c.instance,
                "type": c.type,
                "ok": c.ok,
                "full": c.full,
                "pulled": c.pulled,
                "changed": c.changed,
                "deleted": c.deleted,
                "mapped": c.mapped,
                "status_changes": c.status_changes,
                "writes": {
                    "planned": c.writes_planned,
                    "made": c.writes_made,
                    "failed": c.writes_failed,
                    "pending": c.writes_pending,
                },
                "requests": c.stats.requests,
                "rate_limit_waits": c.stats.rate_limit_waits,
                "cost_points": c.stats.cost_points,
                "error": c.error,
                "planned": [_plan_json(p) for p in c.planned] if report.dry_run else [],
                "footprint": footprint_json(c),
            }
            for c in report.connectors
        ],
    }


def _has_tasks(report: SyncReport) -> bool:
    """Tasks were pulled or are mapped: notes about rules matching nothing mean something."""
    if report.evaluation is None:
        return False
    return any(c.pulled for c in report.connectors) or bool(report.evaluation.mapping.by_task)


def _plan_json(plan: Any) -> dict[str, Any]:
    from okrbridge.sync.runner import change_actions_of

    task = plan.planned.change.task
    return {
        "task": task.key,
        "url": task.url,
        "reasons": [r.value for r in plan.planned.reasons],
        "writes": [{"action": a, "detail": d} for a, d in change_actions_of(plan)],
    }


def print_footprint(
    report: SyncReport, out: Path | None = None, listing: FootprintFile | None = None
) -> None:
    """Per tool, the label each task gets and the first comments in full; everything to `out`
    (from `listing`, which the sync filled page by page)."""
    from okrbridge.cli.footprint import print_footprint as print_marks

    print_marks(stdout(), report)
    if out is not None and listing is not None:
        try:
            listing.write(out, report)
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror or exc}")
        stderr().print(f"every planned write listed in {out}", markup=False)


def print_summary(report: SyncReport) -> None:
    from rich.markup import escape

    from okrbridge.cli.footprint import print_summary as print_counts

    console = stdout()
    print_counts(console, report)
    for c in report.connectors:
        if c.error:
            error = c.error.removeprefix(f"{c.instance}: ")
            console.print(f"[red]{escape(c.instance)} failed:[/] {escape(error)}", soft_wrap=True)
    if report.key_result_status_changes:
        changed = ", ".join(report.key_result_status_changes)
        console.print(f"Key results whose status changed: {changed}", markup=False)
    if not report.connectors:
        console.print("No connector instance is enabled: only check-ins feed the key results.")
    if report.dry_run and report.connectors:
        console.print(
            "Dry run: nothing was written to the tools and no evaluation was recorded, but the "
            "pulled tasks were saved in the store, so the next sync pulls only what changes "
            "from now on.",
            markup=False,
        )


def run_cleanup_command(
    path: Path | None,
    *,
    connectors: list[str],
    dry_run: bool,
    keep_label_definitions: bool = False,
) -> None:
    from okrbridge.connector.registry import default_registry
    from okrbridge.sync.cleanup import run_cleanup

    loaded = load(path, only=connectors)
    with open_store(loaded) as store:
        reports = run_cleanup(
            loaded.config,
            store,
            default_registry(),
            only=connectors,
            dry_run=dry_run,
            keep_label_definitions=keep_label_definitions,
            env=dict(os.environ),
        )
    print_cleanup(reports, dry_run)
    if any(r.errors for r in reports):
        raise typer.Exit(EXIT_FAILURE)


def print_cleanup(reports: list[CleanupReport], dry_run: bool) -> None:
    console = stdout()
    for r in reports:
        verb = "would clean" if dry_run else "cleaned"
        scanned = " (the store knew none: scanned the tool)" if r.scanned else ""
        console.print(
            f"[bold]{r.instance}[/]: {verb} {r.tasks} task(s){scanned}: {r.labels_removed} "
            f"label(s) removed, {r.labels_restored} given back, {r.comments_deleted} "
            f"comment(s) deleted, {r.fields_restored} field value(s) restored"
        )
        for line in r.actions if dry_run else []:
            console.print(f"  {line}", markup=False)
        for line in r.artifacts:
            console.print(f"  {line}", markup=False)
        for line in r.errors:
            console.print(f"  [red]error:[/] {line}")
