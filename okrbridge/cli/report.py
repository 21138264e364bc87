"""Body of `okrbridge report`: the weekly update as Markdown or HTML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from okrbridge.cli.common import EXIT_USAGE, fail, load, open_store

FORMATS = ("md", "html")


def parse_since(text: str, now: datetime) -> datetime:
    """`7d`, `36h`, `2w` (a duration back from `now`) or an ISO date/time (UTC if naive)."""
    from okrbridge.config.schema import parse_duration

    try:
        back = parse_duration(text)
    except ValueError:
        back = None
    if isinstance(back, timedelta):
        return now - back
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r} is neither a duration such as 7d or 36h nor a date such as "
            "2026-01-31"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def run_report(
    path: Path | None,
    *,
    since: str,
    fmt: str,
    out: Path | None,
    stalled_days: int,
    all_tasks: bool = False,
) -> None:
    """Build the report as of now and write it to `out` or stdout."""
    from okrbridge.report import build_report, render_html, render_markdown
    from okrbridge.report.build import DEFAULT_TASK_LIMIT

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}", EXIT_USAGE)
    now = datetime.now(UTC)
    try:
        start = parse_since(since, now)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    loaded = load(path, check_secrets=False)
    with open_store(loaded) as store:
        report = build_report(
            store,
            loaded.config,
            now=now,
            since=start,
            stalled_days=stalled_days,
            task_limit=None if all_tasks else DEFAULT_TASK_LIMIT,
        )
    text = render_markdown(report) if fmt == "md" else render_html(report)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    typer.echo(f"report written to {out}", err=True)
