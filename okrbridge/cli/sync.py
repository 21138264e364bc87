"""Bodies of `sync` and `cleanup`: progress while working, then a summary (or JSON)."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from okrbridge.cli.common import EXIT_FAILURE, EXIT_USAGE, fail, load, open_store, stderr, stdout
from okrbridge.cli.explain import print_unmatched, unmatched_lines

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from okrbridge.config.schema import Config
    from okrbridge.sync.cleanup import CleanupReport
    from okrbridge.sync.runner import SyncReport


class RichObserver:
    """Progress bars per connector: pages and tasks pulled, then writes pushed with an ETA."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
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
                f"{instance}: push", total=total, unit="changes"
            )
        self.progress.update(self.push[instance], completed=done, total=total)


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=stderr(),
        transient=False,
        disable=not sys.stderr.isatty(),
    )


class SyncStopped(Exception):  # noqa: N818 - reads as an event
    """Raised from a progress hook after SIGTERM: the run ends after its write in flight."""


def _quiet_stop(record: logging.LogRecord) -> bool:
    """The stop is not an error: the runner's "connector failed" line gets no traceback."""
    if record.exc_info and isinstance(record.exc_info[1], SyncStopped):
        record.exc_info, record.exc_text = None, None
    return True


class _StopOnSigterm:
    """While active, SIGTERM asks the sync to stop at its next page or change (the write in
    flight finishes and is recorded); a second SIGTERM stops the process at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _StopOnSigterm:
        self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        logging.getLogger("okrbridge.sync.runner").addFilter(_quiet_stop)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGTERM, self._previous)
        logging.getLogger("okrbridge.sync.runner").removeFilter(_quiet_stop)

    def _on_sigterm(self, signum: int, _frame: Any) -> None:
        if self.requested:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)
        self.requested = True

    def check(self) -> None:
        if self.requested:
            raise SyncStopped("stopped by SIGTERM")

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

        return Observer(inner.progress)


def _record_interrupted(store: Any, report: SyncReport) -> None:
    """The runs a SIGTERM cut short are recorded as `interrupted` (not `failed`)."""
    from okrbridge.store.repos.runs import interrupt_runs

    ids = [c.run_id for c in report.connectors if c.run_id is not None and not c.ok]
    with store.session() as session:
        interrupt_runs(session, ids, "stopped by SIGTERM")
    stderr().print("sync stopped by SIGTERM: the write in flight finished; its run is recorded")


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
    with open_store(loaded) as store, _progress() as progress, _StopOnSigterm() as stop:
        report = run_sync(
            loaded.config,
            store,
            default_registry(),
            dry_run=dry_run,
            full=full,
            only=connectors,
            observer=stop.observing(RichObserver(progress)),
            env=dict(os.environ),
            keep_plans=None
            if as_json or out is not None
            else PLAN_SAMPLE,  # a terminal shows a few
        )
        if stop.requested:
            _record_interrupted(store, report)
    if as_json:
        typer.echo(json.dumps(sync_json(report, loaded.config), indent=2))
    else:
        print_footprint(report, out)
        print_summary(report)
        if _has_tasks(report):
            assert report.evaluation is not None
            print_unmatched(stdout(), loaded.config, report.evaluation, report.unmatched_rules)
    if not report.ok:
        raise typer.Exit(EXIT_FAILURE)


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


def print_footprint(report: SyncReport, out: Path | None = None) -> None:
    """Per tool, the label each task gets and the first comments in full; everything to `out`."""
    from okrbridge.cli.footprint import print_footprint as print_marks

    print_marks(stdout(), report)
    if out is not None:
        from rich.console import Console

        try:
            with out.open("w", encoding="utf-8") as handle:
                console = Console(file=handle, width=120, no_color=True, highlight=False)
                print_marks(console, report, task_limit=None, comment_limit=None)
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
