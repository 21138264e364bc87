"""What the bridge leaves in each tool: the label per task and the comment as people will see it.

Shared by `sync` (after a run or a dry run) and `demo`. Every title, label and comment body is
tool data: it is printed as `Text`, never parsed as Rich markup (a title `Fix [/b] parsing`
must print as written).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from okrbridge.sync.connector_plan import TaskPlan
    from okrbridge.sync.runner import ConnectorReport, SyncReport

__all__ = [
    "TERMINAL_COMMENTS",
    "TERMINAL_TASKS",
    "Footprint",
    "FootprintFile",
    "TaskMarks",
    "footprint_json",
    "footprint_of",
    "print_footprint",
    "print_summary",
]

TERMINAL_TASKS = 10
"""Tasks listed per connector on a terminal; `--out`/`--json` list them all."""
TERMINAL_COMMENTS = 2
"""Comments shown in full per connector on a terminal."""


@dataclass(frozen=True)
class TaskMarks:
    """The writes planned on one task, in words a person reads in the tool."""

    key: str
    title: str
    url: str
    label: str | None
    """The bridge label the task carries afterwards (None: none)."""
    added_label: str | None
    removed_labels: tuple[str, ...]
    comment_action: str | None
    """`create`, `update` or `delete` (None: the comment is left as it is)."""
    comment_body: str | None
    field_value: str | None


@dataclass(frozen=True)
class Footprint:
    """One connector instance's writes, counted the way the summary shows them."""

    tasks: tuple[TaskMarks, ...]

    @property
    def labels_added(self) -> int:
        return sum(1 for t in self.tasks if t.added_label)

    @property
    def labels_removed(self) -> int:
        return sum(len(t.removed_labels) for t in self.tasks)

    @property
    def comments(self) -> int:
        return sum(1 for t in self.tasks if t.comment_action)

    @property
    def fields(self) -> int:
        return sum(1 for t in self.tasks if t.field_value is not None)


def footprint_of(plans: Sequence[TaskPlan]) -> Footprint:
    """The marks `plans` put on their tasks."""
    marks = []
    for plan in plans:
        planned = plan.planned
        change, task = planned.change, planned.change.task
        comment = change.comment
        marks.append(
            TaskMarks(
                key=task.key,
                title=task.title,
                url=task.url,
                label=planned.label,
                added_label=change.add_label,
                removed_labels=tuple(change.remove_labels),
                comment_action=None if comment is None else comment.action.value,
                comment_body=None if comment is None else comment.body,
                field_value=change.field_value,
            )
        )
    return Footprint(tuple(marks))


def footprint_json(connector: ConnectorReport) -> dict[str, Any]:
    """The footprint for `--json`: counts of every plan, and each task the report kept (all
    of them when the sync kept every plan) with its label and whole comment."""
    footprint = footprint_of(connector.planned)
    counts = connector.counts
    return {
        "labels_added": counts.labels_added,
        "labels_removed": counts.labels_removed,
        "comments": counts.comments,
        "fields": counts.fields,
        "tasks": [
            {
                "task": t.key,
                "title": t.title,
                "url": t.url,
                "label": t.label,
                "add_label": t.added_label,
                "remove_labels": list(t.removed_labels),
                "comment": None
                if t.comment_action is None
                else {"action": t.comment_action, "body": t.comment_body},
                "field_value": t.field_value,
            }
            for t in footprint.tasks
        ],
    }


def _label_text(marks: TaskMarks) -> Any:
    from rich.text import Text

    text = Text()
    if marks.added_label:
        text.append(f"+ {marks.added_label}", style="green")
    for label in marks.removed_labels:
        text.append("  " if text else "")
        text.append(f"- {label}", style="red")
    if marks.field_value is not None:
        text.append("  " if text else "")
        text.append(f"field = {marks.field_value or '(cleared)'}", style="yellow")
    if not text and marks.label:
        text.append(f"keeps {marks.label}", style="dim")
    return text


_COMMENT_VERBS = {"create": "+ new comment", "update": "~ comment edited", "delete": "- comment"}


def print_footprint(
    console: Console,
    report: SyncReport,
    *,
    task_limit: int | None = TERMINAL_TASKS,
    comment_limit: int | None = TERMINAL_COMMENTS,
) -> None:
    """Per connector: each task with the label it gets, and the first comments in full."""
    for connector in report.connectors:
        _print_connector(console, connector, report.dry_run, task_limit, comment_limit)


def _print_connector(
    console: Console,
    connector: ConnectorReport,
    dry_run: bool,
    task_limit: int | None,
    comment_limit: int | None,
) -> None:
    from rich.text import Text

    heading = _heading(connector, dry_run)
    if heading is None:
        return
    console.print(heading)
    if not connector.counts.tasks:
        return
    footprint = footprint_of(connector.planned)
    shown = footprint.tasks if task_limit is None else footprint.tasks[:task_limit]
    _print_lines(console, shown)
    hidden = connector.counts.tasks - len(shown)
    if hidden:
        console.print(
            Text(f"  ... and {hidden} more (all of them: --out FILE or --json)", style="dim")
        )
    shared: dict[str, list[str]] = {}
    for marks in footprint.tasks:
        if marks.comment_body:
            shared.setdefault(marks.comment_body, []).append(marks.key)
    bodies = list(shared.items())
    for body, keys in bodies if comment_limit is None else bodies[:comment_limit]:
        console.print(_comment_panel(body, keys, len(keys)))


def _heading(connector: ConnectorReport, dry_run: bool) -> Any:
    """The connector's heading line (None: it failed before planning; the summary says so)."""
    from rich.text import Text

    total = connector.counts.tasks
    heading = Text(f"{connector.instance} ({connector.type})", style="bold")
    if not connector.ok and not total:
        return None
    if not total:
        heading.append(": nothing to write", style="")
        return heading
    settled = connector.ok and not connector.writes_failed and not connector.writes_pending
    verb = "would get" if dry_run else ("got" if settled else "were to get (not all written)")
    heading.append(
        f": {total} task(s) {verb} the bridge's marks"
        + (" (dry run: nothing written)" if dry_run else ""),
        style="",
    )
    return heading


def _print_lines(console: Console, tasks: Sequence[TaskMarks]) -> None:
    from rich.text import Text

    if not tasks:
        return
    width = max(len(marks.key) for marks in tasks)
    for marks in tasks:
        line = Text("  ")
        line.append(marks.key.ljust(width), style="cyan")
        line.append("  ")
        line.append_text(_label_text(marks))
        if marks.comment_action:
            line.append("  ")
            line.append(_COMMENT_VERBS[marks.comment_action], style="yellow")
        line.append("  ")
        line.append(marks.title, style="dim")
        console.print(line, no_wrap=True, overflow="ellipsis")


def _comment_panel(body: str, keys: Sequence[str], count: int) -> Any:
    """A comment in full, titled with the first task that gets it (and some of the others)."""
    from rich.markdown import Markdown
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.text import Text

    also = f" (the same on {', '.join(keys[1:4])}{', ...' if count > 4 else ''})"
    title = Text(f"comment on {keys[0]}{also if count > 1 else ''}, as the tool shows it")
    return Padding(Panel(Markdown(body), title=title, title_align="left"), (0, 2))


class FootprintFile:
    """Every planned write, listed in a file as the sync plans them (`sync --out`): the task
    lines of each page go to a spool per instance, each distinct comment is kept once, so
    memory does not grow with the number of tasks. `add` is `run_sync`'s `plan_sink`; use it
    as a context manager (the spools are removed at its end)."""

    def __init__(self) -> None:
        self._spools: dict[str, IO[str]] = {}
        self._bodies: dict[str, dict[str, tuple[list[str], int]]] = {}
        self._files = ExitStack()

    def __enter__(self) -> FootprintFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._files.close()

    def add(self, instance: str, plans: Sequence[TaskPlan]) -> None:

        marks = footprint_of(plans).tasks
        spool = self._spools.get(instance)
        if spool is None:
            spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed on exit
            self._spools[instance] = self._files.enter_context(spool)
        _print_lines(_file_console(spool), marks)
        bodies = self._bodies.setdefault(instance, {})
        for task in marks:
            if task.comment_body:
                keys, count = bodies.get(task.comment_body, ([], 0))
                if len(keys) < 5:
                    keys.append(task.key)
                bodies[task.comment_body] = (keys, count + 1)

    def write(self, path: Path, report: SyncReport) -> None:
        """The listing: per instance its heading, every task line, every comment in full."""
        with path.open("w", encoding="utf-8") as handle:
            console = _file_console(handle)
            for connector in report.connectors:
                heading = _heading(connector, report.dry_run)
                if heading is None:
                    continue
                console.print(heading)
                spool = self._spools.get(connector.instance)
                if spool is not None:
                    spool.seek(0)
                    shutil.copyfileobj(spool, handle)
                for body, (keys, count) in self._bodies.get(connector.instance, {}).items():
                    console.print(_comment_panel(body, keys, count))


def _file_console(handle: IO[str]) -> Console:
    from rich.console import Console

    return Console(file=handle, width=120, no_color=True, highlight=False)


def print_summary(console: Console, report: SyncReport) -> None:
    """The per-connector counts; fits 80 columns with whole column names."""
    from rich.table import Table
    from rich.text import Text

    title = "okrbridge sync" + (" (dry run: nothing written)" if report.dry_run else "")
    # No borders: 2 columns of padding per column keep all eight whole within 80 columns.
    table = Table(title=title, box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    table.add_column("connector", no_wrap=True)
    for name in ("pulled", "changed", "mapped", "labels", "comments"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("planned" if report.dry_run else "writes", justify="right", no_wrap=True)
    table.add_column("requests", justify="right", no_wrap=True)
    for c in report.connectors:
        labels = c.counts.labels_added + c.counts.labels_removed
        table.add_row(
            Text(c.instance, style="" if c.ok else "red"),
            str(c.pulled),
            str(c.changed),
            str(c.mapped),
            str(labels),
            str(c.counts.comments),
            str(c.writes_planned if report.dry_run else c.writes_made),
            str(c.stats.requests),
        )
    console.print(table)
    console.print(
        Text(
            "labels: bridge labels added or removed; comments: bridge comments created, "
            "edited or deleted; mapped: tasks serving an initiative.",
            style="dim",
        )
    )
    for c in report.connectors:
        extra = []
        if c.writes_failed:
            extra.append(f"{c.writes_failed} write(s) failed")
        if c.writes_pending:
            extra.append(f"{c.writes_pending} write(s) still queued for the next run")
        if c.stats.cost_points:
            extra.append(f"{c.stats.cost_points:g} API points spent")
        if extra:
            console.print(Text(f"{c.instance}: {', '.join(extra)}"))
